import type { Session } from '../lib/sessions'
import { Field, useId } from './ui'

/** What a form's list of event types becomes: empty means every event, as the API defaults. */
const patternsOf = (text: string) =>
	text
		.split(/[\s,]+/)
		.map((s) => s.trim())
		.filter(Boolean)

/**
 * The events and sessions a webhook's form holds: the patterns typed, and the sessions ticked (none:
 * every session). `sessionIds` is null when the form offered no sessions (none loaded): the caller
 * then leaves the webhook's sessions as they are rather than widening it to every session.
 */
export function readWebhookFields(form: HTMLFormElement): { events: string[]; sessionIds: string[] | null } {
	const events = patternsOf((form.elements.namedItem('events') as HTMLInputElement).value)
	const boxes = [...form.querySelectorAll<HTMLInputElement>('input[name="sessionIds"]')]
	return { events, sessionIds: boxes.length ? boxes.filter((box) => box.checked).map((box) => box.value) : null }
}

/**
 * Which events of which sessions a webhook takes, as the new-webhook form and a webhook's edit form
 * ask it: the event types or globs, and a checkbox for each of the account's sessions by name.
 */
export function WebhookFields({
	sessions,
	events = [],
	sessionIds = null,
	fieldError,
}: {
	sessions: readonly Session[]
	events?: readonly string[]
	sessionIds?: readonly string[] | null
	fieldError: (name: string) => string | undefined
}) {
	const id = useId('webhook-sessions')
	const sessionsError = fieldError('sessionIds')
	return (
		<>
			<Field
				label="Events"
				name="events"
				placeholder="session.messages.*"
				hint="Event types or globs, separated by commas; empty for every event"
				defaultValue={events.length === 1 && events[0] === '*' ? '' : events.join(', ')}
				error={fieldError('events')}
			/>
			{sessions.length > 0 && (
				<fieldset class="scopes" aria-describedby={sessionsError ? `${id}-error` : `${id}-hint`}>
					<legend>Sessions</legend>
					<p id={`${id}-hint`} class="muted">
						None chosen: the events of every session, those added later included.
					</p>
					{sessions.map((session) => (
						<label key={session.id} class="check">
							<input type="checkbox" name="sessionIds" value={session.id} defaultChecked={sessionIds?.includes(session.id) ?? false} /> {session.name}
						</label>
					))}
					{sessionsError && (
						<p id={`${id}-error`} class="field-error">
							{sessionsError}
						</p>
					)}
				</fieldset>
			)}
		</>
	)
}
