import { Type as T, type Static } from '@sinclair/typebox'
import { ContactCard, Location, MediaRef, MessageKind, Poll, PollVote, Reaction, ReplyTo } from './message-content'
import { EpochSeconds, EpochTime, Jid, MessageStatus } from './shapes-base'

export * from './message-content'
export * from './shapes-base'

/**
 * WhatsApp data as it travels in events: what the runner normalises Baileys objects into, what
 * the consumer persists and what WebSocket clients receive. Absent means "not known / unchanged";
 * no field is ever used to clear a stored value.
 */

/**
 * Identifies a message. In LID-addressed chats `remoteJid` is the `…@lid` and `remoteJidAlt` the
 * phone JID (and likewise `participant`/`participantAlt` in groups); the runner fills the `Alt`
 * forms whenever it knows the mapping, because the consumer files a message under the phone JID
 * when the event carries one. `participant` is omitted (or empty) outside groups.
 */
export const MessageKey = T.Object({
	remoteJid: Jid,
	remoteJidAlt: T.Optional(Jid),
	fromMe: T.Boolean(),
	id: T.String({ minLength: 1, maxLength: 128 }),
	participant: T.Optional(T.String({ maxLength: 320 })),
	participantAlt: T.Optional(T.String({ maxLength: 320 })),
})
export type MessageKey = Static<typeof MessageKey>

/** Raw proto message (`WebMessageInfo.message`) as JSON, kept for types the API does not model. */
const MessageContent = T.Union([T.Record(T.String(), T.Unknown()), T.Null()])

export const Message = T.Object({
	key: MessageKey,
	/** The message's own time (never a receipt's). */
	timestamp: EpochSeconds,
	/**
	 * Where the message arrived among the session's messages: it grows in the order the runner
	 * received them (a Baileys batch in its order, a history conversation oldest first). WhatsApp
	 * times messages to the second; this orders those of the same second.
	 */
	seq: T.Optional(T.Integer({ minimum: 1, maximum: Number.MAX_SAFE_INTEGER })),
	pushName: T.Optional(T.String({ maxLength: 256 })),
	status: T.Optional(MessageStatus),
	/** The proto content key: `conversation`, `extendedTextMessage`, `imageMessage`, … */
	type: T.String({ minLength: 1, maxLength: 64 }),
	/** Plain text when the message has some (`conversation`, `extendedTextMessage.text`, a caption). */
	text: T.Optional(T.String()),
	/** What the message is; absent in events from before kinds were told apart (read as `other`). */
	kind: T.Optional(MessageKind),
	media: T.Optional(MediaRef),
	location: T.Optional(Location),
	contacts: T.Optional(T.Array(ContactCard, { maxItems: 256 })),
	poll: T.Optional(Poll),
	replyTo: T.Optional(ReplyTo),
	/** The raw proto message, for every kind: what the fields above do not model (an `other`) is read here. */
	content: MessageContent,
})
export type Message = Static<typeof Message>

/**
 * A change to a message that may arrive before the message itself. Status only moves forward;
 * an edit applies when it is newer than the last one applied; a revoke is final.
 */
export const MessageUpdate = T.Object({
	key: MessageKey,
	status: T.Optional(MessageStatus),
	edit: T.Optional(
		T.Object({
			type: T.String({ minLength: 1, maxLength: 64 }),
			text: T.Optional(T.String()),
			/** What the phone sent, which may be partial (a caption edit names the caption alone); the projection keeps only `text`. */
			content: MessageContent,
			editedAt: EpochTime,
		}),
	),
	/** Deleted for everyone. */
	revoked: T.Optional(T.Literal(true)),
	/** Someone reacted to the message (or took a reaction back with an empty emoji). */
	reaction: T.Optional(Reaction),
	/** Someone voted in the poll the message is (or withdrew a vote). */
	pollVote: T.Optional(PollVote),
})
export type MessageUpdate = Static<typeof MessageUpdate>

export const Contact = T.Object({
	jid: Jid,
	lid: T.Optional(Jid),
	pn: T.Optional(Jid),
	/** Name in the phone's address book. */
	name: T.Optional(T.String({ maxLength: 256 })),
	/** The contact's own push name. */
	notify: T.Optional(T.String({ maxLength: 256 })),
	verifiedName: T.Optional(T.String({ maxLength: 256 })),
	imgUrl: T.Optional(T.String({ maxLength: 2048 })),
})
export type Contact = Static<typeof Contact>

export const Chat = T.Object({
	jid: Jid,
	lid: T.Optional(Jid),
	pn: T.Optional(Jid),
	name: T.Optional(T.String({ maxLength: 256 })),
	/** WhatsApp's count of unread messages, as of `lastMessageAt` when given, else as of the event. */
	unreadCount: T.Optional(T.Integer({ minimum: 0 })),
	archived: T.Optional(T.Boolean()),
	lastMessageAt: T.Optional(EpochSeconds),
})
export type Chat = Static<typeof Chat>

export const LidPnMapping = T.Object({ lid: Jid, pn: Jid })
export type LidPnMapping = Static<typeof LidPnMapping>

/** Messages per `session.history.sync` / `session.messages.upsert` entry: producers split above it. */
export const MESSAGE_BATCH_MAX = 500
