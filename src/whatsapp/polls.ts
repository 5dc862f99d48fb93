import { decryptPollVote, jidNormalizedUser, normalizeMessageContent, proto, type BaileysEventMap, type WAMessage } from '@whiskeysockets/baileys'
import { LRUCache } from 'lru-cache'
import type { PollVote } from '../core/catalogue'
import { changeTime } from './mapping/common'
import type { OpenSessionOptions } from './port'

/** Polls per session whose secret is kept in memory: votes come soon after a poll, mostly. */
const RECENT_POLLS = 1_000

/**
 * The secrets of a session's polls. Those the session just saw (received, sent, or in a history
 * chunk) are held here, because a vote often arrives before the poll is stored; older ones are
 * read from the stored message.
 */
export class PollSecrets {
	private readonly recent = new LRUCache<string, Uint8Array>({ max: RECENT_POLLS })

	constructor(private readonly storedMessage: OpenSessionOptions['storedMessage']) {}

	/** Keeps the secrets of the polls among `messages`. */
	remember(messages: readonly WAMessage[]): void {
		for (const m of messages) {
			const content = normalizeMessageContent(m.message)
			const secret = m.message?.messageContextInfo?.messageSecret ?? content?.messageContextInfo?.messageSecret
			const poll = content?.pollCreationMessage ?? content?.pollCreationMessageV2 ?? content?.pollCreationMessageV3
			if (poll && secret?.byteLength && m.key.id) this.recent.set(keyOf({ id: m.key.id, fromMe: !!m.key.fromMe }), secret)
		}
	}

	async of(key: { id: string; fromMe: boolean }): Promise<Uint8Array | undefined> {
		const held = this.recent.get(keyOf(key))
		if (held) return held
		const stored = await this.storedMessage?.(key)
		const secret = stored ? proto.Message.fromObject(stored).messageContextInfo?.messageSecret : undefined
		return secret?.byteLength ? secret : undefined
	}
}

const keyOf = (key: { id: string; fromMe: boolean }) => `${key.fromMe ? 1 : 0}:${key.id}`

/**
 * Decrypts the poll votes of a batch. A vote is encrypted with the poll's secret, which only the
 * poll message carries: Baileys 7 no longer decrypts votes itself, so the driver looks the poll up
 * and does. A vote whose poll this session never saw cannot be read and is skipped.
 */
export async function pollVotes(events: Partial<BaileysEventMap>, secrets: PollSecrets, me: string | undefined): Promise<Map<string, PollVote>> {
	const votes = new Map<string, PollVote>()
	for (const m of events['messages.upsert']?.messages ?? []) {
		const update = normalizeMessageContent(m.message)?.pollUpdateMessage
		const pollKey = update?.pollCreationMessageKey
		if (!update?.vote || !pollKey?.id || !m.key.id) continue
		const secret = await secrets.of({ id: pollKey.id, fromMe: !!pollKey.fromMe })
		if (!secret) continue
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
				at: changeTime(update.senderTimestampMs, m.messageTimestamp),
			})
		} catch {
			// Not ours to read (another poll's secret): the vote stays unread.
		}
	}
	return votes
}
