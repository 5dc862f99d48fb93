import { createHash } from 'node:crypto'

/** What WhatsApp carries as a file: each kind has its own encryption keys and upload path. */
export const MEDIA_KINDS = ['image', 'video', 'audio', 'document', 'sticker'] as const
export type MediaKind = (typeof MEDIA_KINDS)[number]

/**
 * Where a file is: `pending` (known, not downloaded yet), `stored` (verified bytes in the media
 * store), `failed` (a check refused it, or WhatsApp no longer has it: `failureReason` says which),
 * `expired` (WhatsApp's CDN dropped it and a re-upload has been asked for).
 */
export const MEDIA_STATES = ['pending', 'stored', 'failed', 'expired'] as const
export type MediaState = (typeof MEDIA_STATES)[number]

/** Where a media row comes from: a message this session received, or a file a client uploaded to send. */
export const MEDIA_ORIGINS = ['incoming', 'upload'] as const
export type MediaOrigin = (typeof MEDIA_ORIGINS)[number]

/**
 * The id of the file of a received message, the same wherever it is computed (the runner that
 * downloads it, the consumer that stores the message, a replayed event): a uuid (version 8) from
 * the SHA-256 of the message's identity. The chat is left out on purpose: one person's chat has
 * two JIDs (phone number and LID), and a message id is unique within a session anyway.
 */
export function incomingMediaId(sessionId: string, messageId: string, fromMe: boolean): string {
	const hex = createHash('sha256')
		.update(`${sessionId}\u0000${messageId}\u0000${fromMe ? 1 : 0}`)
		.digest('hex')
	const variant = ((Number.parseInt(hex[16]!, 16) & 0x3) | 0x8).toString(16)
	return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-8${hex.slice(13, 16)}-${variant}${hex.slice(17, 20)}-${hex.slice(20, 32)}`
}
