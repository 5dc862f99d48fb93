import { useEffect, useRef, useState } from 'preact/hooks'
import { Alert, announce, PageTitle } from '../components/ui'
import { api, problemOf } from '../lib/api'
import { type Contact, type ContactChange, withChanges, withPage } from '../lib/contacts'
import { phoneOf } from '../lib/format'
import { useWhenVisible } from '../lib/paging'
import { Link, location, navigate } from '../lib/router'
import { sessions } from '../lib/sessions'
import { onRealtime, startsOver } from '../lib/realtime'
import { useStore } from '../lib/store'

const MAX_CHANGES = 2_000

/** A session's contacts by name, searched as you type, paged as you scroll; kept live. */
export function ContactsPage({ sessionId }: { sessionId: string }) {
	const session = useStore(sessions)?.find((s) => s.id === sessionId)
	// The search lives in the address too (`?q=`): back from a contact's chat, or a reload, finds it as it was.
	const [q, setQ] = useState(() => location.get().query.get('q') ?? '')
	const [contacts, setContacts] = useState<Contact[]>([])
	const [cursor, setCursor] = useState<string | null | undefined>(undefined)
	const [error, setError] = useState<string | null>(null)
	const generation = useRef(0)
	/**
	 * The contact changes seen while the page is open, applied again over each first page: the
	 * database is written from the same events a moment later, so a load may not hold them yet.
	 */
	const changes = useRef<ContactChange[]>([])
	/** What the list shows: the search it was loaded for, and whether the server has more rows. */
	const shown = useRef({ q: q.trim(), more: false })
	/** The search as typed, for a reload the stream asks for. */
	const typed = useRef(q)
	typed.current = q

	const load = async (search: string, from: string | undefined) => {
		const mine = ++generation.current
		const { data, error } = await api.contacts.get({
			query: { sessionId, limit: 50, ...(search ? { q: search } : {}), ...(from ? { cursor: from } : {}) },
		})
		if (mine !== generation.current) return
		if (error) return setError(problemOf(error).message)
		setError(null)
		shown.current = { q: search, more: data.nextCursor !== null }
		setContacts((list) => (from ? withPage(list, data.items) : withChanges(data.items, changes.current, shown.current)))
		setCursor(data.nextCursor)
		if (!from && search)
			announce(`${data.items.length}${data.nextCursor ? '+' : ''} ${data.items.length === 1 && !data.nextCursor ? 'contact' : 'contacts'} found`)
	}

	useEffect(() => {
		// The address follows each keystroke, so a result opened at once still comes back to its search.
		const path = `/app/sessions/${sessionId}/contacts`
		navigate(q ? `${path}?${new URLSearchParams({ q })}` : path, { replace: true })
		const timer = setTimeout(() => void load(q.trim(), undefined), q ? 250 : 0)
		return () => clearTimeout(timer)
	}, [q, sessionId])

	useEffect(() => {
		changes.current = []
		return onRealtime((message) => {
			// A fresh stream may have missed changes: the first page is read again.
			if (startsOver(message)) return void load(typed.current.trim(), undefined)
			if (!('sessionId' in message) || message.sessionId !== sessionId) return
			if (message.type !== 'session.contacts.upsert' && message.type !== 'session.history.sync') return
			const { contacts: changed } = message.data
			if (changed.length === 0) return
			// The newest are enough: older ones are in the database by the time a page is read again.
			changes.current = changes.current.concat(changed).slice(-MAX_CHANGES)
			setContacts((list) => withChanges(list, changed, shown.current))
		})
	}, [sessionId])

	const sentinel = useWhenVisible(() => cursor && void load(q.trim(), cursor), Boolean(cursor))

	return (
		<>
			<p class="crumbs">
				<Link href="/app/sessions">Sessions</Link> › <Link href={`/app/sessions/${sessionId}/chats`}>{session?.name ?? 'Session'}</Link>
			</p>
			<PageTitle>Contacts</PageTitle>
			<div class="field">
				<label for="contact-search">Search contacts</label>
				<input
					id="contact-search"
					type="search"
					value={q}
					onInput={(e) => setQ((e.currentTarget as HTMLInputElement).value)}
					placeholder="Name or number"
				/>
			</div>
			{error && <Alert>{error}</Alert>}
			{cursor === undefined ? (
				// A first page that failed leaves only its error: no list, and no "none yet" that would contradict it.
				!error && <p>Loading contacts…</p>
			) : contacts.length === 0 ? (
				<p>{q ? 'No contact matches.' : 'No contacts yet.'}</p>
			) : (
				<ul class="list" aria-label="Contacts">
					{contacts.map((contact) => (
						<li key={contact.jid}>
							<Link href={`/app/sessions/${sessionId}/chats/${encodeURIComponent(contact.jid)}`} class="chat-link">
								<span class="chat-name" dir="auto">
									{contact.displayName ?? phoneOf(contact.jid)}
								</span>
								<span class="chat-last">{phoneOf(contact.pnJid ?? contact.jid)}</span>
							</Link>
						</li>
					))}
				</ul>
			)}
			{cursor && (
				<p ref={sentinel as never} class="muted">
					Loading more…
				</p>
			)}
		</>
	)
}
