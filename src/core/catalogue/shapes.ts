import { Type as T, type Static } from '@sinclair/typebox'
import { MAX_MESSAGE_STATUS } from '../message-status'

/**
 * WhatsApp data as it travels in events: what the runner normalises Baileys objects into, what
 * the consumer persists and what WebSocket clients receive. Absent means "not known / unchanged";
 * no field is ever used to clear a stored value.
 */

export const Uuid = T.String({ pattern: '^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$' })
export const IsoTime = T.String({ pattern: '^\\d{4}-\\d{2}-\\d{2}T\\d{2}:\\d{2}:\\d{2}(\\.\\d+)?(Z|[+-]\\d{2}:\\d{2})$' })

export const Jid = T.String({ minLength: 3, maxLength: 320, description: 'WhatsApp JID (…@s.whatsapp.net, …@lid, …@g.us)' })

/** Epoch seconds, as WhatsApp numbers them (the runner turns Baileys `Long`s into numbers). */
const EpochSeconds = T.Integer({ minimum: 0, maximum: 2 ** 40 })

/** A message status code (see core/message-status.ts: 0 error … 5 played). */
const MessageStatus = T.Integer({ minimum: 0, maximum: MAX_MESSAGE_STATUS })
export type MessageStatus = Static<typeof MessageStatus>

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
	pushName: T.Optional(T.String({ maxLength: 256 })),
	status: T.Optional(MessageStatus),
	/** The proto content key: `conversation`, `extendedTextMessage`, `imageMessage`, … */
	type: T.String({ minLength: 1, maxLength: 64 }),
	/** Plain text when the message has some (`conversation`, `extendedTextMessage.text`, a caption). */
	text: T.Optional(T.String()),
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
			content: MessageContent,
			editedAt: EpochSeconds,
		}),
	),
	/** Deleted for everyone. */
	revoked: T.Optional(T.Literal(true)),
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
	unreadCount: T.Optional(T.Integer({ minimum: 0 })),
	archived: T.Optional(T.Boolean()),
	lastMessageAt: T.Optional(EpochSeconds),
})
export type Chat = Static<typeof Chat>

export const LidPnMapping = T.Object({ lid: Jid, pn: Jid })
export type LidPnMapping = Static<typeof LidPnMapping>

/** Messages per `session.history.sync` / `session.messages.upsert` entry: producers split above it. */
export const MESSAGE_BATCH_MAX = 500
