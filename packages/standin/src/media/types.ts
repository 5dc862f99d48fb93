import type { proto } from '@whiskeysockets/baileys'
import type { DeliverOptions, DeliveryResult } from '../types'
import type { MediaSource } from './crypto'

export type { MediaSource }

/** What the phone answers when the companion asks it to upload a media file again. */
export type ReuploadResult = 'SUCCESS' | 'NOT_FOUND' | 'DECRYPTION_ERROR' | 'GENERAL_ERROR'

/**
 * A message in the chat between the account and the contact of a delivery, as the companion's
 * key names it: `fromMe` when the account (the companion) sent it, otherwise the contact did.
 */
export interface MessageRef {
	id: string
	fromMe?: boolean
}

export interface MediaFileOptions {
	/** The bytes: in memory, the path of a file on the stand-in's machine, or a stream. */
	file: MediaSource
	mimetype?: string
	jpegThumbnail?: Uint8Array
	/** Spoil the served file after its hashes were computed (see `encryptToFile`). */
	tamper?: 'ciphertext' | 'mac'
	/** The CDN answers this status for the file until a re-upload request for the message is answered. */
	expired?: 404 | 410
	/** What the phone answers to a re-upload request (default `SUCCESS`: the file at a new direct path). */
	reupload?: ReuploadResult
}

interface Dimensions {
	width?: number
	height?: number
}

export type ContentSpec =
	| ({ kind: 'image'; caption?: string } & Dimensions & MediaFileOptions)
	| ({ kind: 'video'; caption?: string; seconds?: number; gifPlayback?: boolean } & Dimensions & MediaFileOptions)
	/** A video that plays as a gif (`gifPlayback`). */
	| ({ kind: 'gif'; caption?: string; seconds?: number } & Dimensions & MediaFileOptions)
	| ({ kind: 'audio'; seconds?: number } & MediaFileOptions)
	/** A voice note: audio with `ptt`, its length and a 64-sample waveform (0–100 each). */
	| ({ kind: 'voice'; seconds?: number; waveform?: Uint8Array } & MediaFileOptions)
	| ({ kind: 'document'; fileName: string; pageCount?: number; title?: string; caption?: string } & MediaFileOptions)
	| ({ kind: 'sticker'; isAnimated?: boolean } & Dimensions & MediaFileOptions)
	| { kind: 'location'; latitude: number; longitude: number; name?: string; address?: string; jpegThumbnail?: Uint8Array }
	| {
			kind: 'live-location'
			latitude: number
			longitude: number
			accuracy?: number
			speed?: number
			heading?: number
			caption?: string
			sequence?: number
			jpegThumbnail?: Uint8Array
	  }
	/** One contact card (`contactMessage`) or several (`contactsArrayMessage`); a vCard is written when none is given. */
	| { kind: 'contacts'; contacts: Array<{ name: string; phone?: string; vcard?: string }>; displayName?: string }
	/** A reaction to a message; an empty `emoji` removes the contact's reaction. */
	| { kind: 'reaction'; target: MessageRef; emoji: string }
	/** A text quoting a message; the quoted content is looked up (delivered or sent) unless given. */
	| { kind: 'reply'; target: MessageRef; text: string; quotedMessage?: proto.IMessage }
	/** The contact edits one of its own messages: new text, or a whole new content. */
	/** `timestampMs`: when the phone says it edited (now by default). */
	| { kind: 'edit'; target: { id: string }; text?: string; message?: proto.IMessage; timestampMs?: number }
	/** The contact deletes one of its own messages for everyone. */
	| { kind: 'delete'; target: { id: string } }
	/** A poll (`pollCreationMessageV3`) with a fresh 32-byte `messageSecret` unless one is given. */
	| { kind: 'poll'; name: string; options: string[]; selectableCount?: number; secret?: Uint8Array }
	/**
	 * The contact votes in a poll (its own or the account's): the chosen option names, encrypted with
	 * the poll's messageSecret (looked up unless given) and the creator's and voter's JIDs, by default
	 * both in the delivery's addressing (`…@s.whatsapp.net`, or `…@lid`).
	 */
	| { kind: 'poll-vote'; poll: MessageRef; options: string[]; secret?: Uint8Array; creatorJid?: string; voterJid?: string }

export type ContentKind = ContentSpec['kind']

/** A delivery of any kind; encryption defaults to Signal, as a phone always encrypts. */
export type DeliverContentOptions = Omit<DeliverOptions, 'text' | 'message'> & ContentSpec

export interface DeliveredMediaInfo {
	/** Baileys' media type: what `downloadContentFromMessage` takes (`image`, `video`, `audio`, `document`, `sticker`). */
	mediaType: string
	url: string
	directPath: string
	/** Base64, as WhatsApp encodes them in JSON. */
	mediaKey: string
	fileSha256: string
	fileEncSha256: string
	fileLength: number
	mimetype: string
}

export interface ContentDeliveryResult extends DeliveryResult {
	/** The message as delivered. */
	message: proto.IMessage
	media?: DeliveredMediaInfo
	/** Base64 messageSecret of a poll. */
	messageSecret?: string
	/** The JIDs a vote was encrypted with. */
	vote?: { creatorJid: string; voterJid: string }
}

/** What the stand-in found when it checked the media a companion uploaded and then sent. */
export interface SentMedia {
	/** The message field: `imageMessage`, `videoMessage`, `audioMessage`, `documentMessage`, `stickerMessage`, `ptvMessage`. */
	field: string
	directPath: string
	mimetype?: string
	/** The CDN holds an upload at that direct path. */
	uploaded: boolean
	/** Each check of the upload against the message. */
	checks: { mac: boolean; fileEncSha256: boolean; fileSha256: boolean; fileLength: boolean }
	/** Every check passed. */
	verified: boolean
	/** Hex sha256 and length of the decrypted bytes (read them with `readSentMedia`). */
	sha256?: string
	size?: number
	error?: string
}
