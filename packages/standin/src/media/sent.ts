import { normalizeMessageContent } from '@whiskeysockets/baileys'
import type { SentMessage } from '../events'
import type { MediaCdn } from './cdn'
import { decryptAndVerify, type MediaKeyKind } from './crypto'
import type { MediaRecord } from './hub'
import type { SentMedia } from './types'

/** The message fields that point at an uploaded file, with the HKDF keys of each. */
const FIELDS: Record<string, { keys: MediaKeyKind; mediaType: string }> = {
	imageMessage: { keys: 'Image', mediaType: 'image' },
	stickerMessage: { keys: 'Image', mediaType: 'sticker' },
	videoMessage: { keys: 'Video', mediaType: 'video' },
	ptvMessage: { keys: 'Video', mediaType: 'video' },
	audioMessage: { keys: 'Audio', mediaType: 'audio' },
	documentMessage: { keys: 'Document', mediaType: 'document' },
}

interface MediaFields {
	directPath?: string | null
	mediaKey?: Uint8Array | null
	fileSha256?: Uint8Array | null
	fileEncSha256?: Uint8Array | null
	fileLength?: number | { toNumber(): number } | null
	mimetype?: string | null
}

/**
 * The companion uploaded a file, then sent a message naming it: decrypt the upload with the
 * message's mediaKey and check the MAC, both hashes and the length, as a receiving phone would.
 */
export async function inspectSentMedia(
	sent: SentMessage,
	cdn: MediaCdn | undefined,
): Promise<{ media: SentMedia; plaintextPath?: string; record?: Omit<MediaRecord, 'messageId'> } | undefined> {
	const content = normalizeMessageContent(sent.message) as Record<string, unknown> | undefined
	const field = Object.keys(FIELDS).find((name) => content?.[name])
	if (!field || !cdn) return undefined
	const fields = content?.[field] as MediaFields
	const { keys, mediaType } = FIELDS[field]!
	const media: SentMedia = {
		field,
		directPath: fields.directPath ?? '',
		mimetype: fields.mimetype ?? undefined,
		uploaded: false,
		checks: { mac: false, fileEncSha256: false, fileSha256: false, fileLength: false },
		verified: false,
	}
	const upload = fields.directPath ? cdn.upload(fields.directPath) : undefined
	if (!upload || !fields.mediaKey) {
		media.error = upload ? 'the message has no mediaKey' : 'the CDN holds no upload at that direct path'
		return { media }
	}
	media.uploaded = true
	const plaintextPath = cdn.newFile('plain')
	const fileLength = typeof fields.fileLength === 'object' && fields.fileLength ? fields.fileLength.toNumber() : Number(fields.fileLength ?? -1)
	const { sha256, size, error, ...checks } = await decryptAndVerify(
		upload.file,
		{ mediaKey: fields.mediaKey, kind: keys, fileEncSha256: fields.fileEncSha256, fileSha256: fields.fileSha256, fileLength },
		plaintextPath,
	)
	Object.assign(media, { checks, sha256, size, error, verified: Object.values(checks).every(Boolean) })
	return { media, plaintextPath, record: { mediaKey: fields.mediaKey, keys, mediaType, directPath: media.directPath, reupload: 'SUCCESS' } }
}
