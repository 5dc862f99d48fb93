import { account, api, problemOf } from './api'
import { isoOf, phoneOf } from './format'
import { formsOf, sameOne } from './jids'
import { type Chat, chatJidOf, statusName } from './messages'
import { oneLoadAtATime } from './paging'
import { onRealtime, startsOver } from './realtime'
import { store } from './store'

/**
 * The chat list of the session last opened, kept while a chat of it is open: back from a chat, the
 * list shows the same rows where it was left. It stays live meanwhile (its events are applied here,
 * not by the page), and a snapshot loads its first page again, as the page did.
 */

export interface ChatList {
	sessionId: string
	chats: Chat[]
	/** The next page's cursor: undefined until the first page is in, null after the last. */
	cursor: string | null | undefined
	error: string | null
}
export const chatList = store<ChatList | null>(null)

const PAGE = 30

const newestFirst = (a: Chat, b: Chat) => (b.lastMessageAt ?? '').localeCompare(a.lastMessageAt ?? '')
/** Whether `loaded` shows at least what `live` does: a later last message, or the same one. */
const shows = (loaded: Chat, live: Chat) =>
	(loaded.lastMessageAt ?? '') > (live.lastMessageAt ?? '') || (loaded.lastMessage?.id ?? null) === (live.lastMessage?.id ?? null)

/** Who wrote a chat's newest message, as its preview begins: you, or in a group the member. */
export function whoWrote({ jid, lastMessage }: Chat): string {
	if (lastMessage?.fromMe) return 'You: '
	if (!jid.endsWith('@g.us') || !lastMessage?.sender) return ''
	return `${lastMessage.pushName ?? phoneOf(lastMessage.sender)}: `
}

/** Where the page was scrolled to in the kept list, to go back to. */
let scrolledTo = 0
export const rememberScroll = (y: number) => {
	scrolledTo = y
}
export const rememberedScroll = () => scrolledTo

let closeCurrent: (() => void) | null = null
/** The next page of the kept list; a no-op before a list is opened. */
let loadNext: () => void = () => {}
export const loadMoreChats = () => loadNext()

/** Forgets the kept list (signed out, or another session's list opened). */
function closeChatList() {
	closeCurrent?.()
	closeCurrent = null
	loadNext = () => {}
	scrolledTo = 0
	chatList.set(null)
}

/** Shows a session's chats: the list kept for it, or a new one, loaded and kept live from now on. */
export function openChatList(sessionId: string) {
	if (chatList.get()?.sessionId === sessionId) return
	closeChatList()
	chatList.set({ sessionId, chats: [], cursor: undefined, error: null })
	const loads = oneLoadAtATime()
	/** Chats changed live since the first page was last asked for: a reload that read them before keeps what is newer. */
	let changedLive = new Set<string>()
	let open = true
	const update = (change: (list: ChatList) => ChatList) => chatList.update((list) => (open && list?.sessionId === sessionId ? change(list) : list))

	const loadMore = async (from: string | null | undefined, reset = false) => {
		if (from === null || !loads.begin(reset)) return
		if (reset) changedLive = new Set()
		const { data, error } = await api.chats.get({ query: { sessionId, limit: PAGE, ...(from ? { cursor: from } : {}) } })
		if (!open) return
		if (loads.end()) void loadMore(undefined, true)
		if (error) return update((list) => ({ ...list, error: problemOf(error).message }))
		update(({ chats }) => {
			// A reload replaces the list, except chats that changed while it was on its way and that it shows older, or not at all.
			const kept = reset ? chats.filter((c) => changedLive.has(c.jid) && !data.items.some((r) => sameOne(r, c) && shows(r, c))) : chats
			// A row kept from a live event may name the person by the other JID (the LID) than the page does.
			const next = [...kept, ...data.items.filter((r) => !kept.some((c) => sameOne(c, r)))].sort(newestFirst)
			return { sessionId, chats: next, cursor: data.nextCursor, error: null }
		})
	}

	/**
	 * Applies a change to a chat (a new one if unseen), and keeps the list newest first. `forms` are
	 * the JIDs the event names it by, the one it is listed under first: a person writing by LID is
	 * named by the LID and the phone number in a message, and by the LID alone in a chat event.
	 */
	const upsert = (forms: readonly (string | null | undefined)[], change: (chat: Chat) => Chat) =>
		update((list) => {
			const jids = forms.filter((j): j is string => Boolean(j))
			const jid = jids[0]!
			const existing = list.chats.find((c) => formsOf(c).some((j) => jids.includes(j)))
			const lid = jids.find((j) => j.endsWith('@lid')) ?? null
			const pn = jids.find((j) => j.endsWith('@s.whatsapp.net')) ?? null
			const base: Chat = existing
				? { ...existing, lidJid: existing.lidJid ?? lid, pnJid: existing.pnJid ?? pn }
				: { jid, pnJid: pn, lidJid: lid, name: null, displayName: null, unreadCount: 0, archived: false, lastMessageAt: null, lastMessage: null }
			const next = change(base)
			changedLive.add(next.jid)
			const rest = list.chats.filter((c) => c !== existing)
			return { ...list, chats: [next, ...rest].sort(newestFirst) }
		})

	void loadMore(undefined, true)
	const stopListening = onRealtime((message) => {
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
	loadNext = () => void loadMore(chatList.get()?.cursor)
	closeCurrent = () => {
		open = false
		stopListening()
	}
}

account.subscribe((user) => {
	if (!user) closeChatList()
})
