import { decryptPollVote, jidNormalizedUser, normalizeMessageContent, proto, type BaileysEventMap, type WAMessage } from '@whiskeysockets/baileys'
import type { Message, PollVote } from '../../core/catalogue'
import type { IncomingMedia } from '../../media/records'
import { seconds } from '../mapping'
import type { OpenSessionOptions } from '../port'

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
export function incomingFiles(events: Partial<BaileysEventMap>, published: readonly Message[], tenantId: string, sessionId: string): IncomingMedia[] {
	const upsert = events['messages.upsert']?.messages ?? []
	const byId = new Map(upsert.map((m) => [`${m.key.id}:${m.key.fromMe ? 1 : 0}`, m]))
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

/**
 * Decrypts the poll votes of a batch. A vote is encrypted with the poll's secret, which only the
 * poll message carries: Baileys 7 no longer decrypts votes itself, so the driver reads the stored
 * poll and does. A vote whose poll is not stored (yet) cannot be read and is skipped.
 */
export async function pollVotes(
	events: Partial<BaileysEventMap>,
	storedMessage: OpenSessionOptions['storedMessage'],
	me: string | undefined,
): Promise<Map<string, PollVote>> {
	const votes = new Map<string, PollVote>()
	for (const m of events['messages.upsert']?.messages ?? []) {
		const update = normalizeMessageContent(m.message)?.pollUpdateMessage
		const pollKey = update?.pollCreationMessageKey
		if (!update?.vote || !pollKey?.id || !m.key.id || !storedMessage) continue
		const stored = await storedMessage({ id: pollKey.id, fromMe: !!pollKey.fromMe })
		const secret = stored && proto.Message.fromObject(stored).messageContextInfo?.messageSecret
		if (!secret?.byteLength) continue
		// The JIDs a vote is encrypted with are in the chat's own addressing (phone number or LID):
		// the sender's key as it came, not Baileys' getKeyAuthor, which prefers the LID.
		const meId = me ? jidNormalizedUser(me) : undefined
		const author = (key: { fromMe?: boolean | null; participant?: string | null; remoteJid?: string | null }) =>
			key.fromMe ? meId : jidNormalizedUser(key.participant || key.remoteJid || m.key.remoteJid || '')
		const voter = author(m.key)
		const creator = author({ ...pollKey, remoteJid: pollKey.remoteJid || m.key.remoteJid })
		if (!voter || !creator) continue
		try {
			const vote = decryptPollVote(update.vote, {
				pollEncKey: secret,
				pollCreatorJid: creator,
				pollMsgId: pollKey.id,
				voterJid: voter,
			})
			votes.set(m.key.id, {
				voter: jidNormalizedUser(voter),
				options: (vote.selectedOptions ?? []).map((o) => Buffer.from(o).toString('hex')),
				at: seconds(update.senderTimestampMs ? Number(update.senderTimestampMs) / 1000 : m.messageTimestamp),
			})
		} catch {
			// Not ours to read (another poll's secret): the vote stays unread.
		}
	}
	return votes
}
