import type { Treaty } from '@elysiajs/eden'
import type { api } from './api'
import { isoOf } from './format'
import type { RealtimeEvent } from './realtime'

/** Chats and messages as the pages show them: the REST shapes, with what the WebSocket adds merged in. */

export type Chat = Treaty.Data<ReturnType<typeof api.chats.get>>['items'][number]
type RestMessage = Treaty.Data<ReturnType<ReturnType<typeof api.chats>['messages']['get']>>['items'][number]
export type Message = RestMessage & {
	/** Sent from this page and not yet confirmed by an event. */
	local?: boolean
}
export type Reaction = Message['reactions'][number]

type Upserted = Extract<RealtimeEvent, { type: 'session.messages.upsert' }>['data']['messages'][number]
type Key = Upserted['key']

const STATUS_NAMES = ['error', 'pending', 'server_ack', 'delivered', 'read', 'played'] as const
/** The same order the server keeps: status only moves forward (an error outranks only pending). */
const rank = (status: string | null | undefined) => (status == null ? -1 : status === 'error' ? 3 : STATUS_NAMES.indexOf(status as never) * 2)
export const laterStatus = <S extends string | null>(a: S, b: S): S => (rank(b) > rank(a) ? b : a)

/** The JID a chat is listed under: the phone number's when the event knows it. */
export const chatJidOf = (key: Key) => (key.remoteJidAlt?.endsWith('@s.whatsapp.net') ? key.remoteJidAlt : key.remoteJid)
export const belongsTo = (key: Key, jid: string) => key.remoteJid === jid || key.remoteJidAlt === jid

const KIND_LABEL: Record<string, string> = {
	image: 'Photo',
	video: 'Video',
	gif: 'GIF',
	audio: 'Audio',
	voice: 'Voice message',
	document: 'Document',
	sticker: 'Sticker',
	location: 'Location',
	contacts: 'Contact card',
	poll: 'Poll',
}
/** What a message shows as text: its text, or what kind of thing it is and what it says. */
export function describe(
	message: Pick<Message, 'text' | 'kind' | 'type'> & Partial<Pick<Message, 'location' | 'contacts' | 'poll'>> & { revoked?: boolean },
): string {
	if (message.revoked) return 'This message was deleted'
	const kind = KIND_LABEL[message.kind]
	const { location, contacts, poll } = message
	const said =
		message.text ??
		(location
			? (location.name ?? location.address ?? `${location.latitude.toFixed(5)}, ${location.longitude.toFixed(5)}`)
			: contacts?.length
				? contacts.map((c) => c.name).join(', ')
				: poll
					? poll.question
					: null)
	if (kind) return said ? `${kind}: ${said}` : kind
	return said ?? (message.type ? `(${message.type})` : '')
}

/** Another's reaction replaced, or taken back with an empty emoji. */
export function withReaction(reactions: readonly Reaction[], reaction: { sender: string; emoji: string; at: number }): Reaction[] {
	const others = reactions.filter((r) => r.sender !== reaction.sender)
	return reaction.emoji ? [...others, { sender: reaction.sender, emoji: reaction.emoji, at: isoOf(reaction.at) }] : others
}

/** Both JIDs of who sent a message, as far as its key tells. */
function senderForms(key: Upserted['key']): { senderPn: string | null; senderLid: string | null } {
	if (key.fromMe) return { senderPn: null, senderLid: null }
	const ids = key.participant ? [key.participant, key.participantAlt] : [key.remoteJid, key.remoteJidAlt]
	return {
		senderPn: ids.find((j) => j?.endsWith('@s.whatsapp.net')) ?? null,
		senderLid: ids.find((j) => j?.endsWith('@lid')) ?? null,
	}
}

export function fromEvent(m: Upserted, chatJid: string): Message {
	const forms = senderForms(m.key)
	return {
		id: m.key.id,
		chatJid,
		fromMe: m.key.fromMe,
		sender: m.key.fromMe ? null : (forms.senderPn ?? (m.key.participant || m.key.remoteJid)),
		...forms,
		pushName: m.pushName ?? null,
		timestamp: isoOf(m.timestamp),
		seq: m.seq ?? 0,
		type: m.type,
		text: m.text ?? null,
		status: m.status == null ? null : (STATUS_NAMES[m.status] ?? null),
		editedAt: null,
		revoked: false,
		kind: m.kind ?? 'other',
		media: m.media ?? null,
		location: m.location ?? null,
		contacts: m.contacts ?? null,
		poll: m.poll ? { ...m.poll, options: m.poll.options.map((name) => ({ name, votes: 0 })), votes: [] } : null,
		replyTo: m.replyTo ?? null,
		reactions: [],
		content: null,
	}
}

export const statusName = (code: number | undefined) => (code == null ? null : (STATUS_NAMES[code] ?? null))
export const sameMessage = (a: { id: string; fromMe: boolean }, b: { id: string; fromMe: boolean }) => a.id === b.id && a.fromMe === b.fromMe

/** Oldest first, as a conversation reads; within a second, in the order they arrived. */
export const byTime = (a: Message, b: Message) => Date.parse(a.timestamp) - Date.parse(b.timestamp) || a.seq - b.seq
