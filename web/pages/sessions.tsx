import { useEffect, useRef, useState } from 'preact/hooks'
import { Alert, announce, Field, focusPageTitle, PageTitle, useForm } from '../components/ui'
import { api, problemOf } from '../lib/api'
import { phoneOf, shortTime, STATUS_LABEL } from '../lib/format'
import { qrDataUrl } from '../lib/qr'
import { lostAt } from '../lib/realtime'
import { Link } from '../lib/router'
import { describeFailure, dismissError, loadSessions, type Session, sessionErrors, sessions, updateSessions, upsertSession } from '../lib/sessions'
import { useStore } from '../lib/store'

/** The account's WhatsApp sessions: status live from the WebSocket, the QR or pairing code while linking, and the commands. */
export function SessionsPage() {
	const list = useStore(sessions)
	const since = useStore(lostAt)
	const [loadError, setLoadError] = useState<string | null>(null)
	useEffect(() => {
		if (list === null) loadSessions().catch((error) => setLoadError(problemOf(error).message))
	}, [])
	return (
		<>
			<PageTitle>Sessions</PageTitle>
			<CreateSession />
			{loadError && <Alert>{loadError}</Alert>}
			{/* The statuses come from the live connection: without it they are only what it last said. */}
			{since && list?.length ? (
				<p class="notice" role="status">
					Offline: the statuses below are as of {shortTime(since)}, when the connection to the server was lost. They update once it is back.
				</p>
			) : null}
			{list === null ? (
				<p>Loading sessions…</p>
			) : list.length === 0 ? (
				<p>No session yet. Create one and scan its QR code with WhatsApp on your phone.</p>
			) : (
				<ul class={since ? 'cards stale' : 'cards'}>
					{list.map((session) => (
						<SessionCard key={session.id} session={session} />
					))}
				</ul>
			)}
		</>
	)
}

function CreateSession() {
	const form = useForm(['name', 'phoneNumber'])
	const onSubmit = (event: Event) => {
		event.preventDefault()
		const target = event.currentTarget as HTMLFormElement
		const name = (target.elements.namedItem('name') as HTMLInputElement).value.trim()
		const phoneNumber = (target.elements.namedItem('phoneNumber') as HTMLInputElement).value.trim()
		void form.run(async () => {
			const result = await api.sessions.post({ ...(name ? { name } : {}), ...(phoneNumber ? { phoneNumber } : {}) })
			if (result.data) {
				upsertSession(result.data)
				target.reset()
				announce(`Session ${result.data.name} created`)
			}
			return result
		})
	}
	return (
		<form class="create" onSubmit={onSubmit} noValidate aria-labelledby="create-title">
			<h2 id="create-title">New session</h2>
			<div class="row">
				<Field label="Name" name="name" placeholder="Support line" error={form.fieldError('name')} />
				<Field
					label="Phone number"
					name="phoneNumber"
					type="tel"
					hint="Optional: link with a pairing code instead of a QR code."
					placeholder="+1 555 777 0003"
					error={form.fieldError('phoneNumber')}
				/>
			</div>
			{form.formError && <Alert>{form.formError}</Alert>}
			<button type="submit" disabled={form.busy}>
				Create session
			</button>
		</form>
	)
}

function SessionCard({ session }: { session: Session }) {
	const errors = useStore(sessionErrors)
	const [actionError, setActionError] = useState<string | null>(null)
	const [busy, setBusy] = useState(false)
	// Linking by code: there is no QR to scan, whatever the session's status says meanwhile.
	const byCode = session.pairingCode && (session.status === 'starting' || session.status === 'qr')
	const status = byCode ? 'Waiting for the code' : (STATUS_LABEL[session.status] ?? session.status)
	const previous = useRef(session.status)
	useEffect(() => {
		if (previous.current !== session.status) announce(`${session.name}: ${status}`)
		previous.current = session.status
	}, [session.status])

	const command = async (what: 'start' | 'stop' | 'delete') => {
		if (what === 'delete' && !confirm(`Delete the session ${session.name}? It is logged out from WhatsApp and its chats are deleted.`)) return
		setBusy(true)
		setActionError(null)
		dismissError(session.id)
		const target = api.sessions({ id: session.id })
		const { data, error } = await (what === 'start' ? target.start.post() : what === 'stop' ? target.stop.post() : target.delete())
		setBusy(false)
		if (error) return setActionError(problemOf(error).message)
		if (what === 'delete') {
			focusPageTitle()
			updateSessions((list) => list.filter((s) => s.id !== session.id))
			announce(`Session ${session.name} deleted`)
		} else if (data)
			// Only what was asked for: the status is the WebSocket's, which may already be ahead of this answer.
			updateSessions((list) => list.map((s) => (s.id === session.id ? { ...s, desiredState: data.desiredState } : s)))
	}

	// While reconnecting the last error is a reason, not an alarm: the runner is already trying again.
	// While starting, linking or connected it is history: only a session that ended shows why.
	const reconnecting = session.status === 'reconnecting'
	const ended = session.status === 'failed' || session.status === 'stopped' || session.status === 'logged_out'
	const error = actionError ?? (ended ? session.lastError : null)
	const failure = error ? undefined : errors[session.id]
	const titleId = `session-${session.id}`
	return (
		<li class="card" aria-labelledby={titleId} data-session-id={session.id}>
			<div class="card-head">
				<h2 id={titleId} dir="auto">
					{session.name}
				</h2>
				<span class={`badge status-${session.status}`} data-testid="session-status">
					{status}
				</span>
			</div>
			{session.jid && <p class="muted">{phoneOf(session.jid)}</p>}
			{reconnecting && session.lastError && (
				<p class="muted" data-testid="session-reason">
					{session.lastError}
				</p>
			)}
			{session.status === 'qr' && session.qr && (
				<figure class="qr">
					<img src={qrDataUrl(session.qr)} alt="QR code" width={240} height={240} data-payload={session.qr} />
					<figcaption>
						On your phone, open WhatsApp › Linked devices › Link a device, and scan this code. WhatsApp replaces it from time to time; this page
						always shows the current one.
					</figcaption>
				</figure>
			)}
			{session.pairingCode && session.status !== 'connected' && (
				<p class="pairing">
					Pairing code for {session.phoneNumber ? `+${session.phoneNumber}` : 'your phone'}: <strong class="code">{session.pairingCode}</strong>
					<br />
					<small>On your phone: WhatsApp › Linked devices › Link with phone number.</small>
				</p>
			)}
			{error && <Alert>{error}</Alert>}
			{failure && (
				<div class="alert" role="alert">
					<p>
						{describeFailure(failure)} <span class="muted">({shortTime(failure.at)})</span>
					</p>
					<button type="button" class="link" onClick={() => dismissError(session.id)}>
						Dismiss
					</button>
				</div>
			)}
			<div class="actions">
				{/* A linked account's chats stay readable while it is stopped or logged out. */}
				{(session.status === 'connected' || session.jid) && (
					<>
						<Link class="button" href={`/app/sessions/${session.id}/chats`}>
							Chats
						</Link>
						<Link class="button secondary" href={`/app/sessions/${session.id}/contacts`}>
							Contacts
						</Link>
					</>
				)}
				{session.desiredState === 'stopped' || ['stopped', 'failed', 'logged_out'].includes(session.status) ? (
					<button type="button" disabled={busy} onClick={() => command('start')} aria-label={`Start ${session.name}`}>
						Start
					</button>
				) : (
					<button type="button" class="secondary" disabled={busy} onClick={() => command('stop')} aria-label={`Stop ${session.name}`}>
						Stop
					</button>
				)}
				<button type="button" class="danger" disabled={busy} onClick={() => command('delete')} aria-label={`Delete ${session.name}`}>
					Delete
				</button>
			</div>
		</li>
	)
}
