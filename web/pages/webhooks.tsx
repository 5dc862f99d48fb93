import { useEffect, useState } from 'preact/hooks'
import { ShownOnce } from '../components/shown-once'
import { readWebhookFields, WebhookFields } from '../components/webhook-fields'
import { Alert, announce, Field, focusPageTitle, LoadFailed, PageTitle, useForm } from '../components/ui'
import { api, problemOf } from '../lib/api'
import { fullTime } from '../lib/format'
import { useWhenLiveAgain } from '../lib/realtime'
import { loadSessions, type Session, sessions } from '../lib/sessions'
import { useStore } from '../lib/store'
import { EditWebhook, type Webhook } from './webhook-edit'
import { ReplayWebhook } from './webhook-replay'

type Delivery = NonNullable<Awaited<ReturnType<ReturnType<typeof api.webhooks>['deliveries']['get']>>['data']>['items'][number]

/** The account's webhooks: add one (its signing secret shown once), edit, pause, test, replay, rotate, delete, and read each one's delivery log. */
export function WebhooksPage() {
	const [hooks, setHooks] = useState<Webhook[] | null>(null)
	const [loadError, setLoadError] = useState<string | null>(null)
	const [secret, setSecret] = useState<{ title: string; value: string } | null>(null)
	const load = async () => {
		setLoadError(null)
		const { data, error } = await api.webhooks.get({ query: { limit: 100 } })
		if (error) setLoadError(problemOf(error).message)
		else setHooks(data.items)
	}
	const sessionList = useStore(sessions)
	useEffect(() => {
		void load()
		// The form offers them, and the cards name them; a list that cannot load leaves "All sessions" only.
		if (sessionList === null) loadSessions().catch(() => {})
	}, [])
	// A load that failed while the server was away runs again once the connection is back.
	useWhenLiveAgain(() => loadError && void load())
	const replace = (hook: Webhook) => setHooks((list) => list?.map((h) => (h.id === hook.id ? hook : h)) ?? null)
	return (
		<>
			<PageTitle>Webhooks</PageTitle>
			<p class="muted">
				Each event of your sessions is POSTed to your URL, signed by the Standard Webhooks scheme (<code>webhook-id</code>,{' '}
				<code>webhook-timestamp</code>, <code>webhook-signature</code>), retried with growing pauses for about a day until your server answers 2xx, in
				order per session.
			</p>
			{secret ? (
				<ShownOnce title={secret.title} label="Signing secret" value={secret.value} onDone={() => setSecret(null)} />
			) : (
				<CreateWebhook
					sessions={sessionList ?? []}
					onCreated={(created) => {
						setSecret({ title: `Webhook for ${created.url} added`, value: created.secret })
						void load()
					}}
				/>
			)}
			{loadError && <LoadFailed message={loadError} onRetry={() => void load()} />}
			{hooks === null ? (
				!loadError && <p>Loading webhooks…</p>
			) : hooks.length === 0 ? (
				<p>No webhook yet.</p>
			) : (
				<ul class="cards">
					{hooks.map((hook) => (
						<WebhookCard
							key={hook.id}
							hook={hook}
							sessions={sessionList ?? []}
							onChanged={replace}
							onDeleted={() => setHooks((list) => list?.filter((h) => h.id !== hook.id) ?? null)}
							onSecret={(value) => setSecret({ title: `New secret for ${hook.url}`, value })}
						/>
					))}
				</ul>
			)}
		</>
	)
}

function CreateWebhook({ sessions: choices, onCreated }: { sessions: Session[]; onCreated: (created: Webhook & { secret: string }) => void }) {
	const form = useForm(['url', 'events', 'sessionIds', 'description'])
	const onSubmit = (event: Event) => {
		event.preventDefault()
		const target = event.currentTarget as HTMLFormElement
		const value = (name: string) => (target.elements.namedItem(name) as HTMLInputElement).value.trim()
		const { events, sessionIds } = readWebhookFields(target)
		const description = value('description')
		void form.run(async () => {
			const result = await api.webhooks.post({
				url: value('url'),
				...(events.length ? { events } : {}),
				...(sessionIds?.length ? { sessionIds } : {}),
				...(description ? { description } : {}),
			})
			if (result.data) {
				announce('Webhook added')
				target.reset()
				onCreated(result.data)
			}
			return result
		})
	}
	return (
		<form class="create" onSubmit={onSubmit} noValidate aria-labelledby="create-webhook-title">
			<h2 id="create-webhook-title">New webhook</h2>
			<Field label="URL" name="url" type="url" placeholder="https://crm.example.com/hooks/whatsapp" required error={form.fieldError('url')} />
			<WebhookFields sessions={choices} fieldError={form.fieldError} />
			<Field label="Description" name="description" maxLength={500} error={form.fieldError('description')} />
			{form.formError && <Alert>{form.formError}</Alert>}
			<button type="submit" disabled={form.busy}>
				Add webhook
			</button>
		</form>
	)
}

/** The chosen sessions by name; one deleted since (or not loaded) by its id. */
const sessionNames = (ids: readonly string[], known: readonly Session[]) => ids.map((id) => known.find((s) => s.id === id)?.name ?? id).join(', ')

function WebhookCard({
	hook,
	sessions: known,
	onChanged,
	onDeleted,
	onSecret,
}: {
	hook: Webhook
	sessions: Session[]
	onChanged: (hook: Webhook) => void
	onDeleted: () => void
	onSecret: (secret: string) => void
}) {
	const [error, setError] = useState<string | null>(null)
	const [busy, setBusy] = useState(false)
	const [showLog, setShowLog] = useState(false)
	/** The form open under the card's facts, if any: the actions step aside while one is. */
	const [panel, setPanel] = useState<'edit' | 'replay' | null>(null)
	const [logVersion, setLogVersion] = useState(0)
	const endpoint = api.webhooks({ id: hook.id })
	const deleted = () => {
		announce('Webhook deleted')
		focusPageTitle()
		onDeleted()
	}
	/** Runs one action of the card, showing the API's message if it refuses. */
	const act = async <T,>(action: () => Promise<{ data: T | null; error: { status: number; value: unknown } | null }>, done: (data: T) => void) => {
		setBusy(true)
		setError(null)
		const { data, error } = await action()
		setBusy(false)
		const problem = error && problemOf(error)
		// Deleted meanwhile (another tab, another user): the card goes, whatever was asked of it.
		if (problem?.code === 'WEBHOOK_NOT_FOUND') return deleted()
		if (problem) return setError(problem.message)
		done(data as T)
	}
	const toggle = () =>
		act(
			() => endpoint.patch({ enabled: !hook.enabled }),
			(updated) => {
				announce(`Webhook ${updated.enabled ? 'enabled' : 'paused'}`)
				onChanged(updated)
			},
		)
	const test = () =>
		act(
			() => endpoint.test.post(),
			() => {
				announce('Test event queued')
				setShowLog(true)
				setLogVersion((v) => v + 1)
			},
		)
	const rotate = () => {
		if (!confirm('Make a new signing secret? The old one keeps signing too for 24 hours, so you can switch your receiver over.')) return
		void act(
			() => endpoint['rotate-secret'].post(),
			(rotated) => onSecret(rotated.secret),
		)
	}
	const remove = () => {
		if (!confirm(`Delete the webhook for ${hook.url}? Nothing more is sent to it.`)) return
		void act(() => endpoint.delete(), deleted)
	}
	const titleId = `webhook-${hook.id}`
	return (
		<li class={showLog ? 'card wide' : 'card'} aria-labelledby={titleId} data-webhook-id={hook.id}>
			<div class="card-head">
				<h2 id={titleId} class="url">
					{hook.url}
				</h2>
				<span class={hook.enabled ? 'badge status-connected' : 'badge status-failed'}>
					{hook.enabled ? 'Enabled' : disabledLabel(hook.disabledReason)}
				</span>
			</div>
			<dl class="facts">
				{hook.description && (
					<>
						<dt>Description</dt>
						<dd>{hook.description}</dd>
					</>
				)}
				<dt>Events</dt>
				<dd>{hook.events.join(', ')}</dd>
				<dt>Sessions</dt>
				<dd>{hook.sessionIds ? sessionNames(hook.sessionIds, known) : 'All'}</dd>
				{hook.failingSince && (
					<>
						<dt>Failing since</dt>
						<dd>{fullTime(hook.failingSince)}</dd>
					</>
				)}
				<dt>Created</dt>
				<dd>{fullTime(hook.createdAt)}</dd>
			</dl>
			{error && <Alert>{error}</Alert>}
			{panel === 'edit' && (
				<EditWebhook
					hook={hook}
					sessions={known}
					onSaved={(saved) => {
						setPanel(null)
						onChanged(saved)
					}}
					onCancel={() => setPanel(null)}
				/>
			)}
			{panel === 'replay' && (
				<ReplayWebhook
					hookId={hook.id}
					url={hook.url}
					onQueued={() => {
						setShowLog(true)
						setLogVersion((v) => v + 1)
					}}
					onClose={() => setPanel(null)}
				/>
			)}
			<div class="actions" hidden={panel !== null}>
				<button
					type="button"
					disabled={busy || !hook.enabled}
					onClick={test}
					aria-label={`Send a test event to ${hook.url}`}
					title={hook.enabled ? undefined : 'Enable the webhook to send it a test event'}
				>
					Send test
				</button>
				<button type="button" class="secondary" disabled={busy} onClick={toggle} aria-label={`${hook.enabled ? 'Pause' : 'Enable'} ${hook.url}`}>
					{hook.enabled ? 'Pause' : 'Enable'}
				</button>
				<button type="button" class="secondary" disabled={busy} onClick={() => setPanel('edit')} aria-label={`Edit ${hook.url}`}>
					Edit
				</button>
				<button type="button" class="secondary" disabled={busy} onClick={rotate} aria-label={`Rotate the secret of ${hook.url}`}>
					Rotate secret
				</button>
				<button type="button" class="secondary" disabled={busy} onClick={() => setPanel('replay')} aria-label={`Replay events to ${hook.url}`}>
					Replay
				</button>
				<button type="button" class="secondary" aria-expanded={showLog} onClick={() => setShowLog(!showLog)} aria-label={`Deliveries of ${hook.url}`}>
					Deliveries
				</button>
				<button type="button" class="danger" disabled={busy} onClick={remove} aria-label={`Delete ${hook.url}`}>
					Delete
				</button>
			</div>
			{showLog && <DeliveryLog key={logVersion} hookId={hook.id} />}
		</li>
	)
}

const disabledLabel = (reason: string | null) =>
	reason === 'gone' ? 'Disabled: the receiver answered 410' : reason === 'failing' ? 'Disabled: failing too long' : 'Paused'

const PAGE = 20
/** How often an open log with pending deliveries looks again. */
const REFRESH_MS = 2_000

/** A webhook's deliveries, newest first, paged as the API pages them; a failed one can be sent again. */
function DeliveryLog({ hookId }: { hookId: string }) {
	const [items, setItems] = useState<Delivery[]>([])
	const [cursor, setCursor] = useState<string | null | undefined>(undefined)
	const [error, setError] = useState<string | null>(null)
	const deliveries = api.webhooks({ id: hookId }).deliveries
	const loadMore = async (after?: string) => {
		const { data, error } = await deliveries.get({ query: { limit: PAGE, ...(after ? { cursor: after } : {}) } })
		if (error) return setError(problemOf(error).message)
		setItems((list) => (after ? [...list, ...data.items] : data.items))
		setCursor(data.nextCursor)
	}
	useEffect(() => void loadMore(), [hookId])
	// While deliveries are pending the first page follows them, unless older pages were opened.
	useEffect(() => {
		if (!items.some((d) => d.state === 'pending') || items.length > PAGE) return
		const timer = setTimeout(() => void loadMore(), REFRESH_MS)
		return () => clearTimeout(timer)
	}, [items])
	const retry = async (delivery: Delivery) => {
		const { error } = await deliveries({ deliveryId: delivery.id }).retry.post()
		if (error) return setError(problemOf(error).message)
		announce('Delivery queued again')
		void loadMore()
	}
	if (cursor === undefined && !error) return <p>Loading deliveries…</p>
	return (
		<section class="deliveries" aria-label="Deliveries">
			{error && <Alert>{error}</Alert>}
			{items.length === 0 ? (
				<p>Nothing delivered yet.</p>
			) : (
				<table>
					<thead>
						<tr>
							<th scope="col">Event</th>
							<th scope="col">State</th>
							<th scope="col">Attempts</th>
							<th scope="col">Last answer</th>
							<th scope="col">When</th>
							<th scope="col">
								<span class="visually-hidden">Actions</span>
							</th>
						</tr>
					</thead>
					<tbody>
						{items.map((d) => (
							<tr key={d.id}>
								<td>
									<code>{d.eventType}</code>
								</td>
								<td>{d.state}</td>
								<td>{d.attempts}</td>
								<td>
									{d.lastStatusCode ?? d.lastError ?? '—'}
									{d.lastLatencyMs != null && ` (${d.lastLatencyMs} ms)`}
								</td>
								<td>{fullTime(d.deliveredAt ?? d.lastAttemptAt ?? d.createdAt)}</td>
								<td>
									{d.state === 'failed' && (
										<button type="button" class="link" onClick={() => retry(d)} aria-label={`Retry ${d.eventType} ${d.eventId}`}>
											Retry
										</button>
									)}
									{d.state === 'pending' && d.nextAttemptAt && <span class="muted">next {fullTime(d.nextAttemptAt)}</span>}
								</td>
							</tr>
						))}
					</tbody>
				</table>
			)}
			{cursor && (
				<button type="button" class="secondary" onClick={() => loadMore(cursor)}>
					Older deliveries
				</button>
			)}
		</section>
	)
}
