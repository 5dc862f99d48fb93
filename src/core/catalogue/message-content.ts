import { Type as T, type Static } from '@sinclair/typebox'
import { MEDIA_KINDS, MEDIA_STATES } from '../media'
import { EpochTime, Jid, Uuid } from './shapes-base'

/**
 * What a message is and carries, typed per kind, so clients need not read WhatsApp's protobuf.
 * Kinds the API does not model stay `other`, with their raw proto content as before.
 */
export const MESSAGE_KINDS = [
	'text',
	'image',
	'video',
	'gif',
	'audio',
	'voice',
	'document',
	'sticker',
	'location',
	'contacts',
	'poll',
	'other',
] as const
export const MessageKind = T.Union(MESSAGE_KINDS.map((k) => T.Literal(k)))
export type MessageKind = Static<typeof MessageKind>

/**
 * A message's file, by reference: the bytes are served by `GET /media/:id`, never carried in an
 * event. `state` says whether they are there yet (`session.media.updated` follows each change).
 */
export const MediaRef = T.Object({
	id: Uuid,
	kind: T.Union(MEDIA_KINDS.map((k) => T.Literal(k))),
	mimetype: T.String({ maxLength: 255 }),
	state: T.Union(MEDIA_STATES.map((s) => T.Literal(s))),
	size: T.Optional(T.Integer({ minimum: 0 })),
	/** SHA-256 of the bytes, hex, as WhatsApp announced it (and the stored file proves). */
	sha256: T.Optional(T.String({ pattern: '^[0-9a-f]{64}$' })),
	fileName: T.Optional(T.String({ maxLength: 255 })),
	width: T.Optional(T.Integer({ minimum: 0 })),
	height: T.Optional(T.Integer({ minimum: 0 })),
	seconds: T.Optional(T.Integer({ minimum: 0 })),
	pages: T.Optional(T.Integer({ minimum: 0 })),
	/** A voice note (audio recorded to be played as one). */
	ptt: T.Optional(T.Boolean()),
	/** A video meant to loop silently. */
	gif: T.Optional(T.Boolean()),
	/** An animated sticker. */
	animated: T.Optional(T.Boolean()),
	/** A voice note's waveform: 64 samples, base64, as WhatsApp sends it. */
	waveform: T.Optional(T.String({ maxLength: 512 })),
})
export type MediaRef = Static<typeof MediaRef>

export const Location = T.Object({
	latitude: T.Number({ minimum: -90, maximum: 90 }),
	longitude: T.Number({ minimum: -180, maximum: 180 }),
	name: T.Optional(T.String({ maxLength: 1024 })),
	address: T.Optional(T.String({ maxLength: 1024 })),
	/** Sent as a live location: this is where it started. */
	live: T.Optional(T.Literal(true)),
})
export type Location = Static<typeof Location>

export const ContactCard = T.Object({
	name: T.String({ maxLength: 1024 }),
	vcard: T.String({ maxLength: 65_536 }),
})

export const Poll = T.Object({
	question: T.String({ maxLength: 4096 }),
	options: T.Array(T.String({ maxLength: 1024 }), { maxItems: 32 }),
	/** How many options a voter may pick (0: any number). */
	selectableCount: T.Integer({ minimum: 0 }),
})

/** The message this one answers (WhatsApp's quoted message). */
export const ReplyTo = T.Object({
	id: T.String({ minLength: 1, maxLength: 128 }),
	/** Who wrote the quoted message, in groups. */
	participant: T.Optional(Jid),
})

/** One person's reaction to a message; an empty emoji takes it back. */
export const Reaction = T.Object({
	sender: Jid,
	emoji: T.String({ maxLength: 64 }),
	at: EpochTime,
})
export type Reaction = Static<typeof Reaction>

/** One person's current vote in a poll: the SHA-256 (hex) of each option picked, none to withdraw. */
export const PollVote = T.Object({
	voter: Jid,
	options: T.Array(T.String({ pattern: '^[0-9a-f]{64}$' }), { maxItems: 32 }),
	at: EpochTime,
})
export type PollVote = Static<typeof PollVote>
