import { normalizeMessageContent, type WAMessage } from '@whiskeysockets/baileys'
import type { Message } from '../../core/catalogue'
import type { IncomingMedia } from '../../media/records'

type MediaContent = { mediaKey?: Uint8Array | null; directPath?: string | null; url?: string | null; fileEncSha256?: Uint8Array | null }

/** The media part of a message's content, whichever kind carries it. */
function mediaContent(message: WAMessage): MediaContent | undefined {
	const c = normalizeMessageContent(message.message)
	return (c?.imageMessage ??
		c?.videoMessage ??
		c?.audioMessage ??
		c?.documentMessage ??
		c?.documentWithCaptionMessage?.message?.documentMessage ??
		c?.stickerMessage ??
		undefined) as MediaContent | undefined
}

/**
 * The files of the messages a live `messages.upsert` brought, with what fetching them takes.
 * History sync is left out on purpose: a first sync can name thousands of old files, which are
 * fetched when someone asks for them instead.
 */
export function incomingFiles(sources: readonly WAMessage[], published: readonly Message[], tenantId: string, sessionId: string): IncomingMedia[] {
	const byId = new Map(sources.map((m) => [`${m.key.id}:${m.key.fromMe ? 1 : 0}`, m]))
	const out: IncomingMedia[] = []
	for (const message of published) {
		if (!message.media) continue
		const source = byId.get(`${message.key.id}:${message.key.fromMe ? 1 : 0}`)
		const content = source && mediaContent(source)
		if (!content?.mediaKey || !content.directPath) continue
		out.push({
			tenantId,
			sessionId,
			chatJid: message.key.remoteJid,
			messageId: message.key.id,
			fromMe: message.key.fromMe,
			ref: message.media,
			location: {
				mediaKey: content.mediaKey,
				directPath: content.directPath,
				...(content.url ? { url: content.url } : {}),
				...(content.fileEncSha256 ? { fileEncSha256: Buffer.from(content.fileEncSha256).toString('hex') } : {}),
			},
		})
	}
	return out
}
