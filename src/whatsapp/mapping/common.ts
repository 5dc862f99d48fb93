import { jidNormalizedUser, toNumber } from '@whiskeysockets/baileys'
import { EPOCH_SECONDS_MAX, INT32_MAX, MESSAGE_BATCH_MAX, type GroupRole, type PollVote } from '../../core/catalogue'

/**
 * Baileys events → catalogue data. Pure: whatever a lookup needs (LID ↔ phone JIDs, a poll's
 * secret) comes in through the context, so every rule here is tested with Baileys' own proto
 * payloads and no socket.
 */

export interface MappingContext {
	/** The other form of a user JID (LID → phone JID, or phone JID → LID) when known. */
	altOf?(jid: string): string | undefined
	/** Epoch seconds; for the rare message without a timestamp. */
	now?(): number
	/** The session the messages belong to: names the files of media messages (their media ids). */
	sessionId?: string
	/** The account's own JID: the author of what it sent (its reactions, its votes). */
	me?: string
	/** The account's own LID, when known: a group in LID addressing names the account by it. */
	meLid?: string
	/** A poll vote in the batch, decrypted by the driver beforehand (it needs the poll's secret). */
	pollVoteOf?(message: { key: { id?: string | null } }): PollVote | undefined
	/** The next arrival number (Message.seq), in the order messages are mapped; none without it. */
	nextSeq?(): number
	/** A member's role as the runner knows it after the batch: the creator stays superadmin through a promote or demote. */
	groupRoleOf?(groupJid: string, jid: string): GroupRole | undefined
	/** Told of a message that cannot be stored (its id is longer than ID_MAX), so it is not dropped unseen. */
	unstorable?(id: string, remoteJid: string | null | undefined): void
}

/**
 * Arrival numbers that only grow in this process: microseconds of the wall clock, or one more than
 * the last when several arrive within one. A runner that takes a session over continues above
 * what the last one gave, as far as their clocks agree.
 */
export function arrivalClock(now: () => number = Date.now): () => number {
	let last = 0
	return () => {
		last = Math.max(last + 1, now() * 1000)
		return last
	}
}

export const NAME_MAX = 256
export const JID_MAX = 320
export const ID_MAX = 128

export const nowSeconds = (ctx: MappingContext) => ctx.now?.() ?? Math.floor(Date.now() / 1000)
export const clip = (s: string | null | undefined, max = NAME_MAX) => (s ? s.slice(0, max) : undefined)
export const isJid = (s: string | null | undefined): s is string => !!s && s.length >= 3 && s.length <= JID_MAX && s.includes('@')
/** A user JID without its device part (`1555…:3@s.whatsapp.net` → `1555…@s.whatsapp.net`). */
export const userJid = (jid: string | null | undefined) => (isJid(jid) ? jidNormalizedUser(jid) || undefined : undefined)
/**
 * Epoch seconds from a number, a protobuf `Long` or nothing; 0 for none. A sender's phone sets
 * these, so anything may arrive: a time past the catalogue's last second is read as milliseconds
 * when that makes it one, and as none otherwise (callers then take the time of arrival). Never a
 * value the catalogue refuses: that would drop the whole event it travels in.
 */
export const seconds = (t: unknown): number => {
	const n = Math.floor(Number(toNumber(t as number)) || 0)
	if (n <= 0) return 0
	if (n <= EPOCH_SECONDS_MAX) return n
	const fromMs = Math.floor(n / 1000)
	return fromMs <= EPOCH_SECONDS_MAX ? fromMs : 0
}

/** When a change was made: WhatsApp's sender time to the millisecond when it gave a possible one, else the message's second. */
export const changeTime = (senderTimestampMs: unknown, fallback: unknown): number => {
	const ms = Number(toNumber(senderTimestampMs as number))
	return ms > 0 && ms / 1000 <= EPOCH_SECONDS_MAX ? ms / 1000 : seconds(fallback)
}

/**
 * A whole number from 1 to `max` from a number or a protobuf `Long`, else undefined. Protobuf's
 * uint32 and uint64 fields take any value a sender writes; one past its column would fail the
 * write of every row beside it.
 */
export const positiveWhole = (n: unknown, max = INT32_MAX): number | undefined => {
	const v = Number(toNumber(n as number))
	return Number.isInteger(v) && v > 0 && v <= max ? v : undefined
}

export function chunk<T>(items: readonly T[], size = MESSAGE_BATCH_MAX): T[][] {
	const out: T[][] = []
	for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size))
	return out
}
