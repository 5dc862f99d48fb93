import { useEffect, useLayoutEffect, useRef, useState } from 'preact/hooks'
import { Alert, announce, PageTitle } from '../components/ui'
import { api, problemOf } from '../lib/api'
import { isoOf, phoneOf, STATUS_LABEL } from '../lib/format'
import { belongsTo, byTime, fromEvent, laterStatus, type Message, sameMessage, statusName, withReaction } from '../lib/messages'
import { useOneLoadAtATime, useWhenVisible } from '../lib/paging'
import { onRealtime, startsOver } from '../lib/realtime'
import { Link } from '../lib/router'
import { sessions } from '../lib/sessions'
import { useStore } from '../lib/store'
import { Composer } from './composer'
import { MessageItem } from './message'

const PAGE = 40

/** Scrolled to the end of the list, or near enough that new messages should keep it there. */
const nearBottom = (el: HTMLElement) => el.scrollHeight - el.scrollTop - el.clientHeight < 80

/** One chat: its messages (older pages as you scroll up), live, with delivery ticks, and the composer. */
export function ChatPage({ sessionId, jid }: { sessionId: string; jid: string }) {
	const all = useStore(sessions)
	const session = all?.find((s) => s.id === sessionId)
	const [messages, setMessages] = useState<Message[]>([])
	const [cursor, setCursor] = useState<string | null | undefined>(undefined)
	const [error, setError] = useState<string | null>(null)
	/** The chat's name as the list shows it (GET /chats/:jid), else the contact's; null until known. */
	const [chatName, setChatName] = useState<string | null>(null)
	const [replyTo, setReplyTo] = useState<Message | null>(null)
	const [picking, setPicking] = useState<string | null>(null)
	/** Messages that arrived out of sight, below a view scrolled up: the button that goes to them counts them. */
	const [unseen, setUnseen] = useState(0)
	const shown = useRef(messages)
	shown.current = messages
	const scroller = useRef<HTMLDivElement>(null)
	const keepFromBottom = useRef<number | null>(0)
	const loads = useOneLoadAtATime()

	/**
	 * The chat read as WhatsApp Web reads it: when it is open in a visible tab, its received
	 * messages are marked read (read receipts, and the unread count back to 0). A session that is
	 * not connected refuses it: the count stays, as it does on the phone.
	 */
	const markRead = () => {
		if (document.visibilityState !== 'visible') return
		void api.chats({ jid }).read.post({}, { query: { sessionId } })
	}

	/** Adds or updates messages by key; what an event says wins over an older copy, status only moves forward. */
	const merge = (incoming: Message[]) =>
		setMessages((list) => {
			const next = [...list]
			for (const m of incoming) {
				const i = next.findIndex((x) => sameMessage(x, m))
				if (i < 0) next.push(m)
				else next[i] = { ...next[i]!, ...m, status: laterStatus(next[i]!.status, m.status), local: false }
			}
			return next.sort(byTime)
		})

	const load = async (from: string | null | undefined) => {
		if (from === null || !loads.begin(from === undefined)) return
		const el = scroller.current
		keepFromBottom.current = el ? el.scrollHeight - el.scrollTop : 0
		const { data, error } = await api.chats({ jid }).messages.get({ query: { sessionId, limit: PAGE, ...(from ? { cursor: from } : {}) } })
		if (loads.end()) void load(undefined)
		if (error) {
			// 404: no chat yet (a contact never written to); the composer starts it.
			setError(error.status === 404 ? null : problemOf(error).message)
			return setCursor(null)
		}
		merge(data.items)
		// Loading the newest page again keeps the older pages already shown, and where to go on from them.
		setCursor((current) => (from === undefined && current !== undefined ? current : data.nextCursor))
	}

	useEffect(() => {
		setMessages([])
		setCursor(undefined)
		setChatName(null)
		setUnseen(0)
		void load(undefined)
		void api
			.chats({ jid })
			.get({ query: { sessionId } })
			.then(async ({ data, error }) => {
				// No chat yet (a contact opened from the contacts page): the contact's name, when the session knows one.
				const named = error?.status === 404 ? (await api.contacts({ jid }).get({ query: { sessionId } })).data : data
				setChatName(named?.displayName ?? null)
				if (data?.unreadCount) markRead()
			})
		return onRealtime((message) => {
			if (startsOver(message)) return void load(undefined)
			if (!('sessionId' in message) || message.sessionId !== sessionId) return
			if (message.type === 'session.messages.upsert' || message.type === 'session.history.sync') {
				const mine = message.data.messages.filter((m) => belongsTo(m.key, jid) && m.type !== 'reactionMessage')
				if (message.type === 'session.messages.upsert' && mine.some((m) => !m.key.fromMe)) markRead()
				if (mine.length) {
					const el = scroller.current
					const atBottom = !el || nearBottom(el)
					keepFromBottom.current = atBottom ? 0 : null
					const isNew = (m: (typeof mine)[number]) => !shown.current.some((x) => sameMessage(x, m.key))
					if (!atBottom && message.type === 'session.messages.upsert' && mine.some(isNew)) setUnseen((n) => n + mine.filter(isNew).length)
					merge(mine.map((m) => fromEvent(m, jid)))
				}
			}
			if (message.type === 'session.messages.update')
				setMessages((list) =>
					list.map((m) => {
						const update = message.data.updates.find((u) => belongsTo(u.key, jid) && sameMessage(m, u.key))
						if (!update) return m
						return {
							...m,
							status: laterStatus(m.status, statusName(update.status)),
							...(update.revoked ? { revoked: true, text: null, media: null } : {}),
							...(update.edit ? { text: update.edit.text ?? m.text, editedAt: isoOf(update.edit.editedAt) } : {}),
							...(update.reaction ? { reactions: withReaction(m.reactions, update.reaction) } : {}),
						}
					}),
				)
			// A received file finished downloading (or failed): the message shows it, or why not, without a reload.
			if (message.type === 'session.media.updated') {
				const { id, state, size } = message.data
				setMessages((list) => list.map((m) => (m.media?.id === id ? { ...m, media: { ...m.media, state, size: size ?? m.media.size } } : m)))
			}
			if (message.type === 'session.command.failed' && message.data.messageId)
				setMessages((list) => list.map((m) => (m.fromMe && m.id === message.data.messageId ? { ...m, status: 'error' } : m)))
		})
	}, [sessionId, jid])

	// Older pages keep the view where it was; new messages scroll it down only when it was at the bottom.
	useLayoutEffect(() => {
		const el = scroller.current
		if (!el || keepFromBottom.current === null) return
		el.scrollTop = keepFromBottom.current === 0 ? el.scrollHeight : el.scrollHeight - keepFromBottom.current
		keepFromBottom.current = null
	}, [messages])

	// A photo that finishes loading grows the list: a view that was at the bottom stays there.
	const pinned = useRef(true)
	const onScroll = () => {
		const el = scroller.current
		if (!el) return
		pinned.current = nearBottom(el)
		if (pinned.current) setUnseen(0)
	}
	useEffect(() => {
		if (unseen) announce(unseen === 1 ? '1 new message below' : `${unseen} new messages below`)
	}, [unseen])
	/** To the newest message; the focus stays in the list, where the button that disappears was. */
	const toNewest = () => {
		const el = scroller.current
		if (!el) return
		el.scrollTop = el.scrollHeight
		setUnseen(0)
		el.focus({ preventScroll: true })
	}
	const onLoadCapture = () => {
		const el = scroller.current
		if (el && pinned.current) el.scrollTop = el.scrollHeight
	}

	const sentinel = useWhenVisible(() => void load(cursor), Boolean(cursor))
	const react = async (m: Message, emoji: string) => {
		setPicking(null)
		const { error } = await api.chats({ jid }).messages.post({ reaction: { messageId: m.id, emoji } }, { query: { sessionId } })
		if (error) setError(problemOf(error).message)
	}
	const byId = new Map(messages.map((m) => [m.id, m]))
	/** This account's reaction to a message: its reactions are filed under the account's JID, or its LID. */
	const ownReaction = (m: Message) => m.reactions.find((r) => r.sender === session?.jid || r.sender === session?.lid)?.emoji
	/** In a group, each received message says who wrote it. */
	const group = jid.endsWith('@g.us')
	const name = chatName ?? messages.find((m) => !m.fromMe && m.pushName)?.pushName ?? phoneOf(jid)

	// A 404 of the messages means a chat not started yet, unless the session itself is missing (deleted, or never this account's).
	if (all && !session)
		return (
			<>
				<p class="crumbs">
					<Link href="/app/sessions">Sessions</Link>
				</p>
				<PageTitle>{name}</PageTitle>
				<Alert>Session not found</Alert>
			</>
		)

	return (
		<section class="chat">
			<p class="crumbs">
				<Link href="/app/sessions">Sessions</Link> › <Link href={`/app/sessions/${sessionId}/chats`}>{session?.name ?? 'Chats'}</Link>
			</p>
			<PageTitle>{name}</PageTitle>
			{/* The first stop after the heading: the way past every message's buttons to the box. */}
			{/* A button, not a link to #message-text: the focus moves without an entry in the history. */}
			<button type="button" class="link skip-inline" onClick={() => document.getElementById('message-text')?.focus()}>
				Skip to message box
			</button>
			{error && <Alert>{error}</Alert>}
			<div class="messages-pane">
				{/* Focusable so the keyboard can scroll it; a log, so screen readers announce arrivals. */}
				{/* biome-ignore lint/a11y/noNoninteractiveTabindex: a scrollable region must be reachable by keyboard */}
				<div class="messages" ref={scroller} tabIndex={0} role="log" aria-label="Messages" onScroll={onScroll} onLoadCapture={onLoadCapture}>
					{cursor && (
						<p ref={sentinel as never} class="muted center">
							Loading older messages…
						</p>
					)}
					{cursor === undefined && <p class="muted center">Loading messages…</p>}
					<ol class="message-list">
						{messages.map((m) => (
							<MessageItem
								key={`${m.id}-${m.fromMe}`}
								m={m}
								quoted={m.replyTo ? byId.get(m.replyTo.id) : undefined}
								group={group}
								picking={picking === m.id}
								ownReaction={ownReaction(m)}
								onReply={() => setReplyTo(m)}
								onPick={(open) => setPicking(open ? m.id : null)}
								onReact={(emoji) => react(m, emoji)}
							/>
						))}
					</ol>
				</div>
				{unseen > 0 && (
					<button type="button" class="new-messages" onClick={toNewest}>
						New messages ({unseen}) ↓
					</button>
				)}
			</div>
			<Composer
				sessionId={sessionId}
				jid={jid}
				notConnected={session && session.status !== 'connected' ? (STATUS_LABEL[session.status] ?? session.status) : null}
				replyTo={replyTo}
				onCancelReply={() => setReplyTo(null)}
				onSent={(m) => {
					setReplyTo(null)
					keepFromBottom.current = 0
					merge([m])
				}}
			/>
		</section>
	)
}
