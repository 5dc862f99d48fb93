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
 *
 * The vote is also sealed with the creator's and the voter's JIDs, in whichever form the voter's
 * phone chose: the chat's own addressing mostly, but a phone may seal a vote on a poll this
 * account sent to a phone-number chat with the account's LID, or the reverse. Each known form of
 * both (the account's number and LID; the contact's JID and the other form its key carries) is
 * tried until one opens it: at most four HMAC checks, only for votes.
 */
export async function pollVotes(
	events: Partial<BaileysEventMap>,
	secrets: PollSecrets,
	me: { id?: string | null; lid?: string | null } | undefined,
): Promise<Map<string, PollVote>> {
	const votes = new Map<string, PollVote>()
	const mine = distinct([me?.id, me?.lid])
	for (const m of events['messages.upsert']?.messages ?? []) {
		const update = normalizeMessageContent(m.message)?.pollUpdateMessage
		const pollKey = update?.pollCreationMessageKey
		if (!update?.vote || !pollKey?.id || !m.key.id) continue
		const secret = await secrets.of({ id: pollKey.id, fromMe: !!pollKey.fromMe })
		if (!secret) continue
		// The sender as its key came first (the chat's own addressing), not Baileys' getKeyAuthor, which prefers the LID.
		const voters = m.key.fromMe
			? mine
			: m.key.participant
				? distinct([m.key.participant, m.key.participantAlt])
				: distinct([m.key.remoteJid, m.key.remoteJidAlt])
		const creatorJid = pollKey.participant || pollKey.remoteJid || m.key.remoteJid
		// The creator, when not this account, is the voter in a 1:1 chat (whose other form the vote's key carries), or a group member.
		const creators = pollKey.fromMe ? mine : distinct([creatorJid, creatorJid === voters[0] ? voters[1] : undefined])
		const vote = openVote(update.vote, { secret, pollId: pollKey.id, creators, voters })
		if (vote)
			votes.set(m.key.id, {
				voter: voters[0]!,
				options: (vote.selectedOptions ?? []).map((o) => Buffer.from(o).toString('hex')),
				at: changeTime(update.senderTimestampMs, m.messageTimestamp),
			})
	}
	return votes
}

/** User JIDs, normalised (no device), each once, in the order given. */
function distinct(jids: readonly (string | null | undefined)[]): string[] {
	return [...new Set(jids.flatMap((jid) => (jid ? [jidNormalizedUser(jid)] : [])))].filter(Boolean)
}

function openVote(
	vote: proto.Message.IPollEncValue,
	{ secret, pollId, creators, voters }: { secret: Uint8Array; pollId: string; creators: string[]; voters: string[] },
) {
	for (const pollCreatorJid of creators)
		for (const voterJid of voters) {
			try {
				return decryptPollVote(vote, { pollEncKey: secret, pollCreatorJid, pollMsgId: pollId, voterJid })
			} catch {
				// Not sealed with these two JIDs (or not this poll's secret): the next pair.
			}
		}
	return undefined
}
