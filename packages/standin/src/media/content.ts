import { randomBytes } from 'node:crypto'
import { proto } from '@whiskeysockets/baileys'
import { lidJid, pnJid, type Person } from '../state'
import { encryptPollVote, type EncryptedFile, type MediaKeyKind } from './crypto'
import type { ContentSpec, MessageRef } from './types'

export type MediaSpec = Extract<ContentSpec, { file: unknown }>
export type PlainSpec = Exclude<ContentSpec, { file: unknown }>

/** Per media kind: Baileys' media type (CDN path, download type), the HKDF keys, the message field and WhatsApp's default mimetype. */
export const MEDIA_KINDS: Record<MediaSpec['kind'], { mediaType: string; keys: MediaKeyKind; field: string; mimetype: string }> = {
	image: { mediaType: 'image', keys: 'Image', field: 'imageMessage', mimetype: 'image/jpeg' },
	video: { mediaType: 'video', keys: 'Video', field: 'videoMessage', mimetype: 'video/mp4' },
	gif: { mediaType: 'video', keys: 'Video', field: 'videoMessage', mimetype: 'video/mp4' },
	audio: { mediaType: 'audio', keys: 'Audio', field: 'audioMessage', mimetype: 'audio/mpeg' },
	voice: { mediaType: 'audio', keys: 'Audio', field: 'audioMessage', mimetype: 'audio/ogg; codecs=opus' },
	document: { mediaType: 'document', keys: 'Document', field: 'documentMessage', mimetype: 'application/pdf' },
	sticker: { mediaType: 'sticker', keys: 'Image', field: 'stickerMessage', mimetype: 'image/webp' },
}

export function isMediaSpec(spec: ContentSpec): spec is MediaSpec {
	return spec.kind in MEDIA_KINDS
}

/** A built message and the stanza attributes WhatsApp gives its kind (`type`, and `edit` for edits and deletes). */
export interface BuiltContent {
	message: proto.IMessage
	attrs: Record<string, string>
	messageSecret?: Buffer
	vote?: { creatorJid: string; voterJid: string }
}

export interface ChatContext {
	/** The account whose companions receive the message. */
	account: Person
	/** The contact who sends it. */
	contact: Person
	addressing: 'pn' | 'lid'
	/** The content of a message of this chat by id: one the stand-in delivered or the companion sent. */
	lookup(id: string): proto.IMessage | undefined
}

/** The media message that points at a file on the CDN. */
export function buildMediaMessage(spec: MediaSpec, file: EncryptedFile, location: { url: string; directPath: string }): BuiltContent {
	const info = MEDIA_KINDS[spec.kind]
	const common = {
		url: location.url,
		directPath: location.directPath,
		mediaKey: file.mediaKey,
		fileEncSha256: file.fileEncSha256,
		fileSha256: file.fileSha256,
		fileLength: file.fileLength,
		mimetype: spec.mimetype ?? info.mimetype,
		mediaKeyTimestamp: Math.floor(Date.now() / 1000),
	}
	const media = { type: 'media' }
	switch (spec.kind) {
		case 'image':
			return { attrs: media, message: { imageMessage: { ...common, ...dimensions(spec), caption: spec.caption, jpegThumbnail: spec.jpegThumbnail } } }
		case 'video':
		case 'gif':
			return {
				attrs: media,
				message: {
					videoMessage: {
						...common,
						...dimensions(spec),
						caption: spec.caption,
						seconds: spec.seconds,
						gifPlayback: spec.kind === 'gif' || !!spec.gifPlayback,
						jpegThumbnail: spec.jpegThumbnail,
					},
				},
			}
		case 'audio':
			return { attrs: media, message: { audioMessage: { ...common, seconds: spec.seconds, ptt: false } } }
		case 'voice':
			return { attrs: media, message: { audioMessage: { ...common, seconds: spec.seconds, ptt: true, waveform: spec.waveform } } }
		case 'document': {
			const documentMessage = {
				...common,
				fileName: spec.fileName,
				title: spec.title ?? spec.fileName,
				pageCount: spec.pageCount,
				caption: spec.caption,
				jpegThumbnail: spec.jpegThumbnail,
			}
			// A phone wraps a document with a caption, and Baileys unwraps it (normalizeMessageContent).
			const message = spec.caption ? { documentWithCaptionMessage: { message: { documentMessage } } } : { documentMessage }
			return { attrs: media, message }
		}
		case 'sticker':
			return { attrs: media, message: { stickerMessage: { ...common, ...dimensions(spec), isAnimated: !!spec.isAnimated } } }
	}
}

/** Every kind that carries no file. */
export function buildPlainContent(spec: PlainSpec, chat: ChatContext): BuiltContent {
	const accountJid = jidOf(chat.account, chat.addressing)
	const contactJid = jidOf(chat.contact, chat.addressing)
	const now = Date.now()
	switch (spec.kind) {
		case 'location':
			return {
				attrs: { type: 'media' },
				message: {
					locationMessage: {
						degreesLatitude: spec.latitude,
						degreesLongitude: spec.longitude,
						name: spec.name,
						address: spec.address,
						jpegThumbnail: spec.jpegThumbnail,
					},
				},
			}
		case 'live-location':
			return {
				attrs: { type: 'media' },
				message: {
					liveLocationMessage: {
						degreesLatitude: spec.latitude,
						degreesLongitude: spec.longitude,
						accuracyInMeters: spec.accuracy,
						speedInMps: spec.speed,
						degreesClockwiseFromMagneticNorth: spec.heading,
						caption: spec.caption,
						sequenceNumber: spec.sequence ?? now,
						jpegThumbnail: spec.jpegThumbnail,
					},
				},
			}
		case 'contacts': {
			const cards = spec.contacts.map((contact) => ({ displayName: contact.name, vcard: contact.vcard ?? vcardOf(contact.name, contact.phone) }))
			if (cards.length === 1) return { attrs: { type: 'media' }, message: { contactMessage: cards[0] } }
			return {
				attrs: { type: 'media' },
				message: { contactsArrayMessage: { displayName: spec.displayName ?? `${cards.length} contacts`, contacts: cards } },
			}
		}
		case 'reaction':
			// The key as the sender (the contact) sees it; Baileys turns it into its own perspective.
			return {
				attrs: { type: 'reaction' },
				message: { reactionMessage: { key: senderKey(spec.target, accountJid), text: spec.emoji, senderTimestampMs: now } },
			}
		case 'reply': {
			const found = spec.quotedMessage ?? chat.lookup(spec.target.id)
			if (!found) throw new Error(`no message ${spec.target.id} to quote: pass quotedMessage`)
			// A quote carries the content only, not the original's secret and device metadata.
			const { messageContextInfo: _secret, ...quotedMessage } = found
			const participant = spec.target.fromMe ? accountJid : contactJid
			return {
				attrs: { type: 'text' },
				message: { extendedTextMessage: { text: spec.text, contextInfo: { stanzaId: spec.target.id, participant, quotedMessage } } },
			}
		}
		case 'edit': {
			const editedMessage = spec.message ?? { conversation: spec.text ?? '' }
			const protocolMessage = {
				key: { remoteJid: accountJid, fromMe: true, id: spec.target.id },
				type: proto.Message.ProtocolMessage.Type.MESSAGE_EDIT,
				editedMessage,
				timestampMs: spec.timestampMs ?? now,
			}
			// Phones wrap an edit in `editedMessage` (a future-proof message); edit="1" marks the stanza.
			return { attrs: { type: 'text', edit: '1' }, message: { editedMessage: { message: { protocolMessage } } } }
		}
		case 'delete':
			return {
				attrs: { type: 'text', edit: '7' },
				message: {
					protocolMessage: { key: { remoteJid: accountJid, fromMe: true, id: spec.target.id }, type: proto.Message.ProtocolMessage.Type.REVOKE },
				},
			}
		case 'poll': {
			const messageSecret = spec.secret ? Buffer.from(spec.secret) : randomBytes(32)
			return {
				attrs: { type: 'poll' },
				messageSecret,
				message: {
					pollCreationMessageV3: {
						name: spec.name,
						options: spec.options.map((optionName) => ({ optionName })),
						selectableOptionsCount: spec.selectableCount ?? 1,
					},
					messageContextInfo: { messageSecret },
				},
			}
		}
		case 'poll-vote': {
			const poll = spec.secret ? undefined : chat.lookup(spec.poll.id)
			const secret = spec.secret ?? poll?.messageContextInfo?.messageSecret
			if (!secret) throw new Error(`no messageSecret for poll ${spec.poll.id}: pass secret`)
			const vote = {
				creatorJid: spec.creatorJid ?? (spec.poll.fromMe ? accountJid : contactJid),
				voterJid: spec.voterJid ?? contactJid,
			}
			const encrypted = encryptPollVote(spec.options, { messageSecret: secret, pollId: spec.poll.id, ...vote })
			return {
				attrs: { type: 'poll' },
				vote,
				message: { pollUpdateMessage: { pollCreationMessageKey: senderKey(spec.poll, accountJid), vote: encrypted, senderTimestampMs: now } },
			}
		}
	}
}

/** A key from the contact's side of the chat: the account's message is not "from me" for the contact. */
function senderKey(target: MessageRef, accountJid: string): proto.IMessageKey {
	return { remoteJid: accountJid, fromMe: !target.fromMe, id: target.id }
}

function jidOf(person: Person, addressing: 'pn' | 'lid'): string {
	return addressing === 'lid' ? lidJid(person) : pnJid(person)
}

function dimensions(spec: { width?: number; height?: number }): { width?: number; height?: number } {
	return { width: spec.width, height: spec.height }
}

/** A vCard as WhatsApp writes one: the `waid` parameter lets the app offer a chat with the number. */
export function vcardOf(name: string, phone?: string): string {
	const lines = ['BEGIN:VCARD', 'VERSION:3.0', `N:;${name};;;`, `FN:${name}`]
	if (phone) {
		const digits = phone.replace(/\D/g, '')
		lines.push(`TEL;type=CELL;type=VOICE;waid=${digits}:+${digits}`)
	}
	lines.push('END:VCARD')
	return lines.join('\n')
}
