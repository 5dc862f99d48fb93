import { useEffect, useRef, useState } from 'preact/hooks'
import { Alert, PageTitle } from '../components/ui'
import { api, problemOf } from '../lib/api'
import { isoOf, phoneOf, shortTime } from '../lib/format'
import { type Chat, chatJidOf, describe, statusName } from '../lib/messages'
import { useOneLoadAtATime, useWhenVisible } from '../lib/paging'
import { onRealtime, startsOver } from '../lib/realtime'
import { Link } from '../lib/router'
import { sessions } from '../lib/sessions'
import { useStore } from '../lib/store'

const PAGE = 30

const newestFirst = (a: Chat, b: Chat) => (b.lastMessageAt ?? '').localeCompare(a.lastMessageAt ?? '')
/** Whether `loaded` shows at least what `live` does: a later last message, or the same one. */
const shows = (loaded: Chat, live: Chat) =>
	(loaded.lastMessageAt ?? '') > (live.lastMessageAt ?? '') || (loaded.lastMessage?.id ?? null) === (live.lastMessage?.id ?? null)

/** The JIDs a row names its chat by: a person writing by LID is listed under either, with the other beside it when known. */
const formsOf = (chat: Chat): string[] => [chat.jid, chat.lidJid, chat.pnJid].filter((j): j is string => Boolean(j))

/** Whether two rows are one chat. */
const sameChat = (a: Chat, b: Chat) => formsOf(a).some((j) => formsOf(b).includes(j))

/** Who wrote a chat's newest message, as its preview begins: you, or in a group the member. */
function whoWrote({ jid, lastMessage }: Chat): string {
	if (lastMessage?.fromMe) return 'You: '
	if (!jid.endsWith('@g.us') || !lastMessage?.sender) return ''
	return `${lastMessage.pushName ?? phoneOf(lastMessage.sender)}: `
}

/** A session's chats, newest activity first, one page at a time as the list scrolls; kept live. */
export function ChatsPage({ sessionId }: { sessionId: string }) {
	const session = useStore(sessions)?.find((s) => s.id === sessionId)
	const [chats, setChats] = useState<Chat[]>([])
	const [cursor, setCursor] = useState<string | null | undefined>(undefined)
	const [error, setError] = useState<string | null>(null)
	const loads = useOneLoadAtATime()
	/** Chats changed live since the first page was last asked for: a reload that read them before keeps what is newer. */
	const changedLive = useRef(new Set<string>())

	const loadMore = async (from: string | null | undefined, reset = false) => {
		if (from === null || !loads.begin(reset)) return
		if (reset) changedLive.current = new Set()
		const { data, error } = await api.chats.get({ query: { sessionId, limit: PAGE, ...(from ? { cursor: from } : {}) } })
		if (loads.end()) void loadMore(undefined, true)
		if (error) return setError(problemOf(error).message)
		setError(null)
		setChats((list) => {
			// A reload replaces the list, except chats that changed while it was on its way and that it shows older, or not at all.
			const kept = reset ? list.filter((c) => changedLive.current.has(c.jid) && !data.items.some((r) => sameChat(r, c) && shows(r, c))) : list
			// A row kept from a live event may name the person by the other JID (the LID) than the page does.
			return [...kept, ...data.items.filter((r) => !kept.some((c) => sameChat(c, r)))].sort(newestFirst)
		})
		setCursor(data.nextCursor)
	}

	useEffect(() => {
		void loadMore(undefined, true)
		return onRealtime((message) => {
			if (startsOver(message)) return void loadMore(undefined, true)
			if (!('sessionId' in message) || message.sessionId !== sessionId) return
			if (message.type === 'session.messages.upsert' || message.type === 'session.history.sync') {
				for (const m of message.data.messages)
					upsert([chatJidOf(m.key), m.key.remoteJid, m.key.remoteJidAlt], (chat) => {
						const at = isoOf(m.timestamp)
						if (chat.lastMessageAt && chat.lastMessageAt > at) return chat
						const unread = message.type === 'session.messages.upsert' && message.data.type === 'notify' && !m.key.fromMe
						return {
							...chat,
							lastMessageAt: at,
							lastMessage: {
								id: m.key.id,
								fromMe: m.key.fromMe,
								sender: m.key.fromMe ? null : m.key.participant || m.key.remoteJid,
								pushName: m.key.fromMe ? null : (m.pushName ?? null),
								kind: m.kind ?? 'other',
								text: m.text ?? null,
								timestamp: at,
								status: statusName(m.status),
								revoked: false,
							},
							unreadCount: unread ? (chat.unreadCount ?? 0) + 1 : chat.unreadCount,
							// A new person's chat shows their push name until the list is loaded again (a group keeps its subject).
							displayName: chat.displayName ?? (m.key.fromMe || m.key.participant ? null : (m.pushName ?? null)),
						}
					})
			}
			if (message.type === 'session.chats.upsert' || message.type === 'session.history.sync')
				for (const c of message.data.chats)
					upsert([c.pn ?? c.jid, c.jid], (chat) => ({
						...chat,
						name: c.name ?? chat.name,
						displayName: c.name ?? chat.displayName,
						unreadCount: c.unreadCount ?? chat.unreadCount,
						lastMessageAt:
							c.lastMessageAt && (!chat.lastMessageAt || isoOf(c.lastMessageAt) > chat.lastMessageAt) ? isoOf(c.lastMessageAt) : chat.lastMessageAt,
					}))
		})
	}, [sessionId])

	/**
	 * Applies a change to a chat (a new one if unseen), and keeps the list newest first. `forms` are
	 * the JIDs the event names it by, the one it is listed under first: a person writing by LID is
	 * named by the LID and the phone number in a message, and by the LID alone in a chat event.
	 */
	const upsert = (forms: readonly (string | null | undefined)[], change: (chat: Chat) => Chat) =>
		setChats((list) => {
			const jids = forms.filter((j): j is string => Boolean(j))
			const jid = jids[0]!
			const existing = list.find((c) => formsOf(c).some((j) => jids.includes(j)))
			const lid = jids.find((j) => j.endsWith('@lid')) ?? null
			const pn = jids.find((j) => j.endsWith('@s.whatsapp.net')) ?? null
			const base: Chat = existing
				? { ...existing, lidJid: existing.lidJid ?? lid, pnJid: existing.pnJid ?? pn }
				: {
						jid,
						pnJid: pn,
						lidJid: lid,
						name: null,
						displayName: null,
						unreadCount: 0,
						archived: false,
						lastMessageAt: null,
						lastMessage: null,
					}
			const next = change(base)
			changedLive.current.add(next.jid)
			const rest = list.filter((c) => c !== existing)
			return [next, ...rest].sort(newestFirst)
		})

	const sentinel = useWhenVisible(() => void loadMore(cursor), cursor !== null && cursor !== undefined)

	return (
		<>
			<p class="crumbs">
				<Link href="/app/sessions">Sessions</Link> › {session?.name ?? 'Session'}
			</p>
			<PageTitle>Chats</PageTitle>
			<p>
				<Link href={`/app/sessions/${sessionId}/contacts`}>Contacts</Link>
			</p>
			{error && <Alert>{error}</Alert>}
			{cursor === undefined ? (
				// A first page that failed leaves only its error: no list, and no "none yet" that would contradict it.
				!error && <p>Loading chats…</p>
			) : chats.length === 0 ? (
				<p>No chats yet. They appear here as the phone shares its history and as messages arrive.</p>
			) : (
				<ul class="list chats" aria-label="Chats">
					{chats.map((chat) => (
						<li key={chat.jid}>
							<Link href={`/app/sessions/${sessionId}/chats/${encodeURIComponent(chat.jid)}`} class="chat-link">
								<span class="chat-name">{chat.displayName ?? phoneOf(chat.jid)}</span>
								<span class="chat-time">{shortTime(chat.lastMessageAt)}</span>
								<span class="chat-last">{chat.lastMessage ? `${whoWrote(chat)}${describe({ ...chat.lastMessage, type: null })}` : ''}</span>
								{(chat.unreadCount ?? 0) > 0 && (
									<span class="unread">
										{chat.unreadCount}
										<span class="visually-hidden"> unread</span>
									</span>
								)}
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
