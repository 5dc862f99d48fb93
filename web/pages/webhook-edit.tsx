import { WebhookFields, readWebhookFields } from '../components/webhook-fields'
import { Alert, announce, Field, FormButtons, useForm } from '../components/ui'
import { api } from '../lib/api'
import type { Session } from '../lib/sessions'

export type Webhook = NonNullable<Awaited<ReturnType<typeof api.webhooks.get>>['data']>['items'][number]

/**
 * A webhook's URL, events and sessions, changed in place (PATCH /webhooks/:id): emptied events
 * take every event again, and no session ticked takes every session again. With no sessions to
 * offer (the list did not load), its sessions stay as they are.
 */
export function EditWebhook({
	hook,
	sessions,
	onSaved,
	onCancel,
}: {
	hook: Webhook
	sessions: readonly Session[]
	onSaved: (hook: Webhook) => void
	onCancel: () => void
}) {
	const form = useForm(['url', 'events', 'sessionIds'])
	const onSubmit = (event: Event) => {
		event.preventDefault()
		const target = event.currentTarget as HTMLFormElement
		const url = (target.elements.namedItem('url') as HTMLInputElement).value.trim()
		const { events, sessionIds } = readWebhookFields(target)
		void form.run(async () => {
			const result = await api
				.webhooks({ id: hook.id })
				.patch({ url, events: events.length ? events : ['*'], ...(sessionIds === null ? {} : { sessionIds: sessionIds.length ? sessionIds : null }) })
			if (result.data) {
				announce('Webhook saved')
				onSaved(result.data)
			}
			return result
		})
	}
	return (
		<form onSubmit={onSubmit} noValidate aria-label={`Edit ${hook.url}`}>
			<Field label="URL" name="url" type="url" required defaultValue={hook.url} error={form.fieldError('url')} />
			<WebhookFields sessions={sessions} events={hook.events} sessionIds={hook.sessionIds} fieldError={form.fieldError} />
			{form.formError && <Alert>{form.formError}</Alert>}
			<FormButtons submit="Save" busy={form.busy} leave="Cancel" onLeave={onCancel} />
		</form>
	)
}
