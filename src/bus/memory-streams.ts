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
