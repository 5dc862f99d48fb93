import { getContentType, type proto } from '@whiskeysockets/baileys'
import type { Location, MediaRef, Message, MessageKind, Reaction } from '../../core/catalogue'
import { incomingMediaId, type MediaKind } from '../../core/media'
import { changeTime, clip, ID_MAX, isJid, positiveWhole, userJid } from './common'

/** The typed fields of a message: what it is and what it carries, as the catalogue names them. */
export type Described = Pick<Message, 'kind' | 'media' | 'location' | 'contacts' | 'poll' | 'replyTo'> & { kind: MessageKind }

/** Whose file: a media id is the same for every copy of the message. */
export interface MediaOwner {
	sessionId: string
	messageId: string
	fromMe: boolean
}

const hex = (bytes: Uint8Array | string | null | undefined) =>
	bytes ? (typeof bytes === 'string' ? Buffer.from(bytes, 'base64') : Buffer.from(bytes)).toString('hex') : undefined
const text = (s: string | null | undefined, max: number) => (s ? s.slice(0, max) : undefined)

type MediaProto = {
	mimetype?: string | null
	fileLength?: unknown
	fileSha256?: Uint8Array | null
	fileName?: string | null
	width?: number | null
	height?: number | null
	seconds?: number | null
	pageCount?: number | null
	contextInfo?: proto.IContextInfo | null
}

function mediaRef(kind: MediaKind, m: MediaProto, owner: MediaOwner | undefined, extra: Partial<MediaRef> = {}): MediaRef | undefined {
	if (!owner) return undefined
	const ref: MediaRef = {
		id: incomingMediaId(owner.sessionId, owner.messageId, owner.fromMe),
		kind,
		mimetype: text(m.mimetype, 255) ?? 'application/octet-stream',
		state: 'pending',
	}
	// A file's size in bytes: a `bigint` column, as far as a JavaScript number is exact.
	const size = positiveWhole(m.fileLength, Number.MAX_SAFE_INTEGER)
	if (size !== undefined) ref.size = size
	const sha256 = hex(m.fileSha256)
	if (sha256?.length === 64) ref.sha256 = sha256
	const fileName = text(m.fileName, 255)
	if (fileName) ref.fileName = fileName
	for (const [field, value] of [
		['width', m.width],
		['height', m.height],
		['seconds', m.seconds],
		['pages', m.pageCount],
	] as const) {
		const n = positiveWhole(value)
		if (n !== undefined) ref[field] = n
	}
	return { ...ref, ...extra }
}

function location(m: proto.Message.ILocationMessage | proto.Message.ILiveLocationMessage, live: boolean): Location | undefined {
	const { degreesLatitude: latitude, degreesLongitude: longitude } = m
	// Finite first: NaN passes every comparison of a range.
	if (typeof latitude !== 'number' || typeof longitude !== 'number' || !Number.isFinite(latitude) || !Number.isFinite(longitude)) return undefined
	if (Math.abs(latitude) > 90 || Math.abs(longitude) > 180) return undefined
	const out: Location = { latitude, longitude }
	const name = 'name' in m ? text(m.name, 1024) : undefined
	if (name) out.name = name
	const address = 'address' in m ? text(m.address, 1024) : undefined
	if (address) out.address = address
	if (live) out.live = true
	return out
}

/** The quoted message of a reply, from whatever content carries the context. */
function replyTo(content: proto.IMessage, type: string): Message['replyTo'] {
	const context = (content[type as keyof proto.IMessage] as { contextInfo?: proto.IContextInfo | null } | null | undefined)?.contextInfo
	const id = context?.stanzaId
	if (!id || id.length > ID_MAX) return undefined
	const participant = userJid(context.participant)
	return participant ? { id, participant } : { id }
}

/**
 * What a message is, from its (normalised) content. Media kinds get a MediaRef whose id is
 * derived from the message (`owner`), state `pending` until the runner stores the file.
 */
export function describe(content: proto.IMessage, owner?: MediaOwner): Described {
	const type = getContentType(content) ?? ''
	const out = describeKind(content, owner)
	const reply = replyTo(content, type)
	return reply ? { ...out, replyTo: reply } : out
}

function describeKind(c: proto.IMessage, owner: MediaOwner | undefined): Described {
	if (c.conversation || c.extendedTextMessage) return { kind: 'text' }
	if (c.imageMessage) return withMedia('image', mediaRef('image', c.imageMessage, owner))
	if (c.videoMessage) {
		const gif = !!c.videoMessage.gifPlayback
		return withMedia(gif ? 'gif' : 'video', mediaRef('video', c.videoMessage, owner, gif ? { gif: true } : {}))
	}
	if (c.audioMessage) {
		const ptt = !!c.audioMessage.ptt
		const waveform = c.audioMessage.waveform?.byteLength ? Buffer.from(c.audioMessage.waveform).toString('base64').slice(0, 512) : undefined
		return withMedia(
			ptt ? 'voice' : 'audio',
			mediaRef('audio', c.audioMessage, owner, { ...(ptt ? { ptt: true } : {}), ...(waveform ? { waveform } : {}) }),
		)
	}
	const document = c.documentMessage ?? c.documentWithCaptionMessage?.message?.documentMessage
	if (document) return withMedia('document', mediaRef('document', document, owner))
	if (c.stickerMessage)
		return withMedia('sticker', mediaRef('sticker', c.stickerMessage, owner, c.stickerMessage.isAnimated ? { animated: true } : {}))
	if (c.locationMessage) return withField('location', 'location', location(c.locationMessage, false))
	if (c.liveLocationMessage) return withField('location', 'location', location(c.liveLocationMessage, true))
	if (c.contactMessage || c.contactsArrayMessage) {
		const cards = (c.contactMessage ? [c.contactMessage] : (c.contactsArrayMessage?.contacts ?? []))
			.filter((card) => card.vcard)
			.slice(0, 256)
			.map((card) => ({ name: text(card.displayName, 1024) ?? '', vcard: card.vcard!.slice(0, 65_536) }))
		return cards.length ? { kind: 'contacts', contacts: cards } : { kind: 'other' }
	}
	const poll = c.pollCreationMessage ?? c.pollCreationMessageV2 ?? c.pollCreationMessageV3
	if (poll?.name)
		return {
			kind: 'poll',
			poll: {
				question: poll.name.slice(0, 4096),
				options: (poll.options ?? []).slice(0, 32).map((o) => (o.optionName ?? '').slice(0, 1024)),
				selectableCount: poll.selectableOptionsCount ?? 0,
			},
		}
	return { kind: 'other' }
}

const withMedia = (kind: MessageKind, media: MediaRef | undefined): Described => (media ? { kind, media } : { kind })
const withField = <F extends 'location'>(kind: MessageKind, field: F, value: Described[F]): Described =>
	value ? ({ kind, [field]: value } as Described) : { kind: 'other' }

/** A reaction message: who reacted to which message, with what (empty: taken back). */
export function reactionOf(
	content: proto.IMessage,
	sender: string | undefined,
	at: unknown,
): { target: proto.IMessageKey; reaction: Reaction } | undefined {
	const r = content.reactionMessage
	if (!r?.key?.id || !sender || !isJid(sender)) return undefined
	return {
		target: r.key,
		reaction: { sender, emoji: clip(r.text, 64) ?? '', at: changeTime(r.senderTimestampMs, at) },
	}
}
