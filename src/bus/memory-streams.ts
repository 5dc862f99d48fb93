import { compareIds } from './bus'

/** The in-process bus's streams: what Redis keeps per stream and per consumer group, in memory. */

export const ENVELOPE_FIELD = 'envelope'

export interface Entry {
	id: string
	fields: Record<string, string>
}

interface Pending {
	consumer: string
	deliveredAt: number
	deliveries: number
	/**
	 * In the hands of a consumer of this process that has not come back for more yet. Such an entry
	 * is never idle: its consumer shares the thread with every would-be claimer, so a stall that
	 * delays its keep-alive delays them too, and whichever timer ran first would decide otherwise.
	 */
	held: boolean
}

export interface Group {
	lastDelivered: string
	pending: Map<string, Pending>
	errors: Map<string, string>
	consumers: Set<string>
}

export interface Stream {
	entries: Entry[]
	byId: Map<string, Entry>
	groups: Map<string, Group>
	lastMs: number
	lastSeq: number
	/** Entries have been trimmed from the head: positions before the first one once held some. */
	trimmed: boolean
	waiters: Set<() => void>
}

/** Index of the first entry with a position greater than `id` (or, `inclusive`, not less). */
export function indexAfter(entries: readonly Entry[], id: string, inclusive = false): number {
	let lo = 0
	let hi = entries.length
	while (lo < hi) {
		const mid = (lo + hi) >>> 1
		const c = compareIds(entries[mid]!.id, id)
		if (c < 0 || (c === 0 && !inclusive)) lo = mid + 1
		else hi = mid
	}
	return lo
}

/** Whether every group has read and acknowledged everything in its stream. */
export function settled(streams: Iterable<Stream>): boolean {
	for (const s of streams) {
		const last = s.entries.at(-1)?.id
		for (const g of s.groups.values()) if (g.pending.size || (last && compareIds(g.lastDelivered, last) < 0)) return false
	}
	return true
}

/** How far an append trims the head of its stream, as XADD's MINID and MAXLEN do. */
export interface Trim {
	minId?: string
	maxLen?: number
}

/** Appends an entry at the next position of this millisecond, trims the head, and wakes the stream's waiters. */
export function appendEntry(s: Stream, fields: Record<string, string>, trim: Trim): string {
	const now = Date.now()
	if (now > s.lastMs) {
		s.lastMs = now
		s.lastSeq = 0
	} else s.lastSeq++
	const id = `${s.lastMs}-${s.lastSeq}`
	const entry = { id, fields }
	s.entries.push(entry)
	s.byId.set(id, entry)
	let drop = 0
	if (trim.minId) drop = indexAfter(s.entries, trim.minId, true)
	if (trim.maxLen && s.entries.length - drop > trim.maxLen) drop = s.entries.length - trim.maxLen
	if (drop > 0) {
		for (const e of s.entries.splice(0, drop)) s.byId.delete(e.id)
		s.trimmed = true
	}
	for (const wake of s.waiters) wake()
	s.waiters.clear()
	return id
}
