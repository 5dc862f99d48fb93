import { useState } from 'preact/hooks'
import { Alert, announce, Field, FormButtons, useForm } from '../components/ui'
import { api } from '../lib/api'

/** `datetime-local`'s value for a moment, in the browser's time zone (the input has none of its own). */
const localInputValue = (at: Date) => new Date(at.getTime() - at.getTimezoneOffset() * 60_000).toISOString().slice(0, 16)

/**
 * Sends a webhook again every event the server still holds from a moment on (POST
 * /webhooks/:id/replay), in order and with their original webhook-ids: what a receiver that lost
 * its data, or an endpoint re-enabled after a pause, needs. Says how many were queued, and when the
 * server no longer holds the oldest of them.
 */
export function ReplayWebhook({ hookId, url, onQueued, onClose }: { hookId: string; url: string; onQueued: () => void; onClose: () => void }) {
	const form = useForm(['since'])
	const [queued, setQueued] = useState<string | null>(null)
	const onSubmit = (event: Event) => {
		event.preventDefault()
		const value = ((event.currentTarget as HTMLFormElement).elements.namedItem('since') as HTMLInputElement).value
		const since = new Date(value)
		if (!value || Number.isNaN(since.getTime())) {
			form.setProblem({ code: 'INVALID_SINCE', message: 'Choose a date and time', fields: { since: 'must be a date and time' } })
			return
		}
		void form.run(async () => {
			const result = await api.webhooks({ id: hookId }).replay.post({ since: since.toISOString() })
			if (result.data) {
				const { queued: count, truncated } = result.data
				const said = `${count === 1 ? '1 event' : `${count} events`} queued again${
					truncated ? '; the server no longer holds the oldest events from then, so some may be missing' : ''
				}`
				setQueued(said)
				announce(said)
				onQueued()
			}
			return result
		})
	}
	return (
		<form onSubmit={onSubmit} noValidate aria-label={`Replay ${url}`}>
			<Field
				label="Send again every event since"
				name="since"
				type="datetime-local"
				required
				defaultValue={localInputValue(new Date(Date.now() - 3_600_000))}
				hint="In your time zone; only what the server still holds"
				error={form.fieldError('since')}
			/>
			{form.formError && <Alert>{form.formError}</Alert>}
			{queued && <p role="status">{queued}</p>}
			<FormButtons submit="Replay" busy={form.busy} leave="Close" onLeave={onClose} />
		</form>
	)
}
