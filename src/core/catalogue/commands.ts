import { Type as T, type Static, type TSchema } from '@sinclair/typebox'
import { ContactCard, Poll } from './message-content'
import { PresenceCommandData } from './presence'
import { QueryData } from './queries'
import { Jid, MessageKey, Uuid } from './shapes'

const Caption = T.Optional(T.String({ minLength: 1, maxLength: 4096 }))
/** A file uploaded with POST /media, by its id; the runner streams it from the media store. */
const Upload = T.Object({ mediaId: Uuid })

/** Messages one read command marks at most; a chat with more unread marks its latest. */
export const READ_MAX = 1000

/** Content of an outgoing message, one kind per variant. */
export const SendContent = T.Union([
	T.Object({ text: T.String({ minLength: 1, maxLength: 65_536 }) }),
	T.Object({ image: Upload, caption: Caption }),
	T.Object({ video: Upload, caption: Caption, gif: T.Optional(T.Boolean()) }),
	/** `ptt`: a voice note (the file is ogg/opus). */
	T.Object({ audio: Upload, ptt: T.Optional(T.Boolean()) }),
	T.Object({ document: Upload, caption: Caption, fileName: T.Optional(T.String({ minLength: 1, maxLength: 255 })) }),
	T.Object({ sticker: Upload }),
	T.Object({
		location: T.Object({
			latitude: T.Number({ minimum: -90, maximum: 90 }),
			longitude: T.Number({ minimum: -180, maximum: 180 }),
			name: T.Optional(T.String({ maxLength: 1024 })),
			address: T.Optional(T.String({ maxLength: 1024 })),
		}),
	}),
	T.Object({ contacts: T.Array(ContactCard, { minItems: 1, maxItems: 50 }) }),
	/** A reaction to the message with this key; an empty emoji takes this account's reaction back. */
	T.Object({ reaction: T.Object({ key: MessageKey, emoji: T.String({ maxLength: 64 }) }) }),
	T.Object({ poll: Poll }),
	/** New text for an own text message (WhatsApp shows it edited). */
	T.Object({ edit: T.Object({ key: MessageKey, text: T.String({ minLength: 1, maxLength: 65_536 }) }) }),
	/** Deletes an own message for everyone. */
	T.Object({ delete: T.Object({ key: MessageKey }) }),
])
export type SendContent = Static<typeof SendContent>

/** `data` of every `session-commands` type. */
export const CommandData = {
	'session.start': T.Object({
		/** Pair by code for this number (digits, international form) instead of by QR. */
		phoneNumber: T.Optional(T.String({ pattern: '^\\d{6,20}$' })),
	}),
	'session.stop': T.Object({}),
	/** Log out and delete the credentials (session deletion). */
	'session.logout': T.Object({}),
	'session.messages.send': T.Object({
		/** Chosen by the API (Baileys format: `3EB0` + 18 upper-case hex) so a retried send is idempotent. */
		messageId: T.String({ minLength: 1, maxLength: 128 }),
		to: Jid,
		content: SendContent,
		/** The message this one answers (WhatsApp shows it quoted). */
		replyTo: T.Optional(MessageKey),
	}),
	/** Downloads a received file now: the on-demand policy, or another try after a failure. */
	'session.media.download': T.Object({ mediaId: Uuid }),
	/** Marks these received messages of one chat read: read receipts go to their senders. */
	'session.chats.read': T.Object({
		chatJid: Jid,
		keys: T.Array(MessageKey, { minItems: 1, maxItems: READ_MAX }),
	}),
	...PresenceCommandData,
	...QueryData,
} satisfies Record<string, TSchema>

export type CommandType = keyof typeof CommandData
export type CommandDataOf<K extends CommandType> = Static<(typeof CommandData)[K]>
export const COMMAND_TYPES = Object.keys(CommandData) as CommandType[]
export const isCommandType = (type: string): type is CommandType => Object.hasOwn(CommandData, type)
