import { Readable } from 'node:stream'
import type { AnyMessageContent, WAMessage } from '@whiskeysockets/baileys'
import { proto } from '@whiskeysockets/baileys'
import type { MessageKey, SendContent } from '../../core/catalogue'

const VOICE_NOTE_TYPE = 'audio/ogg; codecs=opus'

/** An uploaded file, ready to stream to WhatsApp. */
export interface UploadedFile {
	mimetype: string
	fileName: string | null
	size: number
	/** SHA-256 of the bytes, hex: the stored object the upload names. */
	sha256: string
	/** A video's length and picture size, read from its headers at upload; null when they said nothing. An Ogg Opus file's length. */
	seconds: number | null
	width: number | null
	height: number | null
	/** An Ogg Opus file's 64 loudness samples, from its audio at upload; null for other files. */
	waveform: Uint8Array | null
	read(): ReadableStream<Uint8Array>
}

/** Where a session finds what a send refers to: the tenant's uploads, and stored messages to quote. */
export interface SendSources {
	/** The tenant's uploaded file, or null when it has none by that id (stored). */
	upload(mediaId: string): Promise<UploadedFile | null>
	/** The stored content of a message, to quote it in a reply. */
	storedMessage?(key: { id: string; fromMe: boolean }): Promise<Record<string, unknown> | null>
}

/** A send that cannot be made as asked: the command is refused with this code. */
export class SendRefused extends Error {
	override name = 'SendRefused'
	constructor(
		readonly code: string,
		message: string,
	) {
		super(message)
	}
}

async function file(sources: SendSources, mediaId: string) {
	const found = await sources.upload(mediaId)
	if (!found) throw new SendRefused('media_not_found', `no uploaded file ${mediaId}`)
	// Baileys encrypts a stream to a temporary file as it reads it: the upload is never held whole.
	const { mimetype, fileName, seconds, width, height, waveform } = found
	return { media: { stream: Readable.fromWeb(found.read() as never) }, mimetype, fileName, seconds, width, height, waveform }
}

/** The catalogue's send content as Baileys' message content. */
export async function toBaileysContent(content: SendContent, sources: SendSources): Promise<AnyMessageContent> {
	if ('text' in content) return { text: content.text, ...(content.mentions ? { mentions: content.mentions } : {}) }
	if ('image' in content) {
		const f = await file(sources, content.image.mediaId)
		return { image: f.media, mimetype: f.mimetype, ...(content.caption ? { caption: content.caption } : {}) }
	}
	if ('video' in content) {
		const f = await file(sources, content.video.mediaId)
		return {
			video: f.media,
			mimetype: f.mimetype,
			// Baileys measures no video: WhatsApp's apps show the length and size these give before the download.
			...(f.seconds === null ? {} : { seconds: f.seconds }),
			...(f.width === null || f.height === null ? {} : { width: f.width, height: f.height }),
			...(content.caption ? { caption: content.caption } : {}),
			...(content.gif ? { gifPlayback: true } : {}),
		}
	}
	if ('audio' in content) {
		const f = await file(sources, content.audio.mediaId)
		// WhatsApp's players take a voice note only as this type; uploads keep the bare type. With the
		// length and waveform read at upload, Baileys neither measures the file nor looks for a decoder.
		return {
			audio: f.media,
			mimetype: content.ptt ? VOICE_NOTE_TYPE : f.mimetype,
			ptt: !!content.ptt,
			...(f.seconds === null ? {} : { seconds: f.seconds }),
			...(content.ptt && f.waveform ? { waveform: new Uint8Array(f.waveform) } : {}),
		}
	}
	if ('document' in content) {
		const f = await file(sources, content.document.mediaId)
		return {
			document: f.media,
			mimetype: f.mimetype,
			fileName: content.fileName ?? f.fileName ?? 'file',
			...(content.caption ? { caption: content.caption } : {}),
		}
	}
	if ('sticker' in content) return { sticker: (await file(sources, content.sticker.mediaId)).media }
	if ('location' in content) {
		const { latitude, longitude, name, address } = content.location
		return { location: { degreesLatitude: latitude, degreesLongitude: longitude, ...(name ? { name } : {}), ...(address ? { address } : {}) } }
	}
	if ('contacts' in content)
		return {
			contacts: {
				displayName: content.contacts.length === 1 ? content.contacts[0]!.name : `${content.contacts.length} contacts`,
				contacts: content.contacts.map((c) => ({ displayName: c.name, vcard: c.vcard })),
			},
		}
	if ('reaction' in content) return { react: { text: content.reaction.emoji, key: content.reaction.key } }
	if ('edit' in content) return { text: content.edit.text, edit: content.edit.key }
	if ('delete' in content) return { delete: content.delete.key }
	return { poll: { name: content.poll.question, values: content.poll.options, selectableCount: content.poll.selectableCount } }
}

/** The quoted message of a reply, from what this session stored of it (its key alone when nothing was). */
export async function quoted(key: MessageKey, sources: SendSources): Promise<WAMessage> {
	const stored = await sources.storedMessage?.({ id: key.id, fromMe: key.fromMe })
	return {
		key: { remoteJid: key.remoteJid, fromMe: key.fromMe, id: key.id, ...(key.participant ? { participant: key.participant } : {}) },
		message: stored ? proto.Message.fromObject(stored) : { conversation: '' },
	}
}
