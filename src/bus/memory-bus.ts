import type { Logger } from '../logger'
import { BUS_DEFAULTS, compareIds, type Bus, type ConsumeOptions, type DeadLetter, type StreamEntry, type StreamInfo, type TailOptions } from './bus'
import { assertEnvelope, parseEnvelope, type AnyEnvelope } from '../core/catalogue'
import { consumerRegistry, deadLetterFrom, type GroupBackend, type GroupReader, type RawEntry } from './group-consumer'
import { deadLetterStream, streamFor } from '../core/streams'
import { ENVELOPE_FIELD, type Entry, type Group, indexAfter, type Stream, settled } from './memory-streams'

export interface MemoryBusOptions {
	partitions: number
	logger: Logger
	retentionMs?: number
	maxLen?: number
	deadLetterMaxLen?: number
	/**
	 * An earlier process on the same database may have published events, gone with it: the streams
	 * hold everything from this bus' creation only (`heldFrom`), and a replay from before it says so.
	 */
	earlierEventsLost?: boolean
}

/** The in-process bus also lets tests append what a broken producer would (see the contract suite). */
export interface MemoryBus extends Bus {
	/** Appends an entry whose envelope field is `payload` verbatim (null = no such field). */
	appendRaw(stream: string, payload: string | null): string
	/** Delivers up to `count` new entries to `consumer` and nothing else: what a consumer that dies right after reading leaves. */
	abandon(stream: string, group: string, consumer: string, count: number): Promise<number>
}

/**
 * Redis Streams semantics in process, for embedded mode: positions `<ms>-<seq>`, consumer groups
 * with a pending list per group, delivery counts, claims of idle entries, MINID/MAXLEN trimming.
 * It shares the consumer loop with the Redis bus (group-consumer.ts), so handlers see the same
 * batches, retries and dead letters on both.
 */
export function createMemoryBus(options: MemoryBusOptions): MemoryBus {
	const { partitions, logger } = options
	const retentionMs = options.retentionMs ?? 0
	const maxLen = options.maxLen ?? 0
	const deadLetterMaxLen = options.deadLetterMaxLen ?? BUS_DEFAULTS.deadLetterMaxLen
	const log = logger.child({ component: 'memory-bus' })
	const streams = new Map<string, Stream>()
	const closing = new AbortController()
	const startedFrom = options.earlierEventsLost ? `${Date.now()}-0` : '0-0'

	function streamOf(name: string): Stream {
		let s = streams.get(name)
		if (!s) {
			s = { entries: [], byId: new Map(), groups: new Map(), lastMs: 0, lastSeq: -1, trimmed: false, waiters: new Set() }
			streams.set(name, s)
		}
		return s
	}

	function groupOf(stream: string, group: string): Group {
		const g = streams.get(stream)?.groups.get(group)
		if (!g) throw new Error(`NOGROUP no such group ${group} on ${stream}`)
		return g
	}

	function append(name: string, fields: Record<string, string>, trim: { minId?: string; maxLen?: number }): string {
		const s = streamOf(name)
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

	/** Resolves when any of `names` gets an entry, after `ms`, or when `interrupt` fires. */
	function waitFor(names: readonly string[], ms: number, interrupted: { wake?: () => void }): Promise<void> {
		return new Promise((resolve) => {
			const done = () => {
				clearTimeout(timer)
				for (const n of names) streamOf(n).waiters.delete(done)
				interrupted.wake = undefined
				resolve()
			}
			const timer = setTimeout(done, ms)
			for (const n of names) streamOf(n).waiters.add(done)
			interrupted.wake = done
		})
	}

	class Reader implements GroupReader {
		private interrupted = false
		readonly waiter: { wake?: () => void } = {}

		async readNew(group: string, consumer: string, names: readonly string[], count: number, blockMs: number): Promise<RawEntry[]> {
			const deadline = Date.now() + blockMs
			for (;;) {
				if (this.interrupted) return []
				const out: RawEntry[] = []
				for (const name of names) {
					const s = streamOf(name)
					const g = groupOf(name, group)
					g.consumers.add(consumer)
					const from = indexAfter(s.entries, g.lastDelivered)
					for (const e of s.entries.slice(from, from + count - out.length)) {
						g.pending.set(e.id, { consumer, deliveredAt: Date.now(), deliveries: 1 })
						g.lastDelivered = e.id
						out.push({ stream: name, id: e.id, payload: e.fields[ENVELOPE_FIELD] ?? null, deliveries: 1 })
					}
				}
				const left = deadline - Date.now()
				if (out.length || left <= 0) return out
				await waitFor(names, left, this.waiter)
			}
		}

		interrupt() {
			this.interrupted = true
			this.waiter.wake?.()
		}

		async close() {
			this.interrupt()
		}
	}

	const backend: GroupBackend = {
		async ensureGroup(stream, group, startId) {
			const s = streamOf(stream)
			if (s.groups.has(group)) return
			const last = s.entries.at(-1)?.id ?? '0-0'
			s.groups.set(group, { lastDelivered: startId === '$' ? last : '0-0', pending: new Map(), errors: new Map(), consumers: new Set() })
		},
		openReader: () => new Reader(),
		async claim(stream, group, consumer, minIdleMs, count, cursor) {
			const s = streamOf(stream)
			const g = groupOf(stream, group)
			g.consumers.add(consumer)
			const now = Date.now()
			const ids = [...g.pending.keys()].filter((id) => compareIds(id, cursor) >= 0).sort(compareIds)
			const entries: RawEntry[] = []
			const deleted: string[] = []
			let next = '0-0'
			for (const id of ids) {
				if (entries.length + deleted.length >= count) {
					next = id
					break
				}
				const p = g.pending.get(id)!
				if (now - p.deliveredAt < minIdleMs) continue
				const entry = s.byId.get(id)
				if (!entry) {
					g.pending.delete(id)
					deleted.push(id)
					continue
				}
				p.consumer = consumer
				p.deliveredAt = now
				p.deliveries++
				entries.push({ stream, id, payload: entry.fields[ENVELOPE_FIELD] ?? null, deliveries: p.deliveries })
			}
			return { cursor: next, entries, deleted }
		},
		async touch(stream, group, consumer, ids) {
			const g = groupOf(stream, group)
			for (const id of ids) {
				const p = g.pending.get(id)
				if (p) {
					p.consumer = consumer
					p.deliveredAt = Date.now()
				}
			}
		},
		async ack(stream, group, ids, clearErrors) {
			const g = groupOf(stream, group)
			for (const id of ids) {
				g.pending.delete(id)
				if (clearErrors) g.errors.delete(id)
			}
			for (const wake of settleWaiters) wake()
		},
		async recordFailure(stream, group, id, error) {
			groupOf(stream, group).errors.set(id, error)
		},
		async lastError(stream, group, id) {
			return groupOf(stream, group).errors.get(id) ?? null
		},
		async deadLetter(stream, group, entry, error) {
			const failedAt = new Date().toISOString()
			const fields: Record<string, string> = { stream, sourceId: entry.id, group, error, deliveries: String(entry.deliveries), failedAt }
			if (entry.payload !== null) fields.payload = entry.payload
			const id = append(deadLetterStream(stream), fields, { maxLen: deadLetterMaxLen })
			const g = groupOf(stream, group)
			g.pending.delete(entry.id)
			g.errors.delete(entry.id)
			for (const wake of settleWaiters) wake()
			return toDeadLetter({ id, fields })
		},
		async removeIdleConsumer(stream, group, consumer) {
			const g = groupOf(stream, group)
			if (![...g.pending.values()].some((p) => p.consumer === consumer)) g.consumers.delete(consumer)
		},
		consumerNames: async (stream, group) => [...groupOf(stream, group).consumers],
	}
	const consumers = consumerRegistry(backend, logger)
	const listeners = new Map<string, Set<(payload: string) => void>>()

	function toEntries(stream: string, list: readonly Entry[]): StreamEntry[] {
		const out: StreamEntry[] = []
		for (const e of list) {
			const parsed = parseEnvelope(e.fields[ENVELOPE_FIELD])
			if (parsed.ok) out.push({ stream, id: e.id, envelope: parsed.envelope })
			else log.warn({ stream, entryId: e.id, error: parsed.error }, 'skipping an entry that does not parse')
		}
		return out
	}

	const toDeadLetter = ({ id, fields }: Entry): DeadLetter => deadLetterFrom(id, fields)

	const settleWaiters = new Set<() => void>()

	function info(stream: string): StreamInfo {
		const s = streams.get(stream)
		const entries = s?.entries ?? []
		const firstId = entries[0]?.id ?? null
		return { length: entries.length, firstId, lastId: entries.at(-1)?.id ?? null, heldFrom: s?.trimmed ? firstId : startedFrom }
	}

	return {
		kind: 'memory',
		partitions,

		async publish(envelopes: readonly AnyEnvelope[]) {
			for (const e of envelopes) assertEnvelope(e)
			const minId = retentionMs > 0 ? `${Date.now() - retentionMs}-0` : undefined
			return envelopes.map((e) => {
				const stream = streamFor(e, partitions)
				return { stream, id: append(stream, { [ENVELOPE_FIELD]: JSON.stringify(e) }, { minId, maxLen }) }
			})
		},

		// What this bus holds ends with the process: commands accepted are executed, events published stored.
		settle(maxMs) {
			return new Promise<boolean>((resolve) => {
				const check = () => {
					if (!settled(streams.values())) return
					clearTimeout(timer)
					settleWaiters.delete(check)
					resolve(true)
				}
				const timer = setTimeout(() => {
					settleWaiters.delete(check)
					resolve(settled(streams.values()))
				}, maxMs)
				settleWaiters.add(check)
				check()
			})
		},

		appendRaw(stream, payload) {
			return append(stream, payload === null ? {} : { [ENVELOPE_FIELD]: payload }, {})
		},

		async abandon(stream, group, consumer, count) {
			await backend.ensureGroup(stream, group, '0')
			return (await new Reader().readNew(group, consumer, [stream], count, 1)).length
		},

		consume: (options: ConsumeOptions) => consumers.start(options),

		async read(stream, { after, count = 1_000 }) {
			const entries = streams.get(stream)?.entries ?? []
			const from = indexAfter(entries, after === '0' ? '0-0' : after)
			return toEntries(stream, entries.slice(from, from + count))
		},

		async *tail(stream: string, options: TailOptions = {}) {
			const { count = 500, blockMs = BUS_DEFAULTS.blockMs } = options
			const signal = AbortSignal.any([closing.signal, ...(options.signal ? [options.signal] : [])])
			const waiter: { wake?: () => void } = {}
			const onAbort = () => waiter.wake?.()
			signal.addEventListener('abort', onAbort)
			try {
				let after = options.after ?? '$'
				if (after === '$') after = info(stream).lastId ?? '0-0'
				while (!signal.aborted) {
					const entries = streamOf(stream).entries
					const from = indexAfter(entries, after)
					const batch = entries.slice(from, from + count)
					if (!batch.length) {
						await waitFor([stream], blockMs, waiter)
						continue
					}
					after = batch.at(-1)!.id
					const parsed = toEntries(stream, batch)
					if (parsed.length) yield parsed
				}
			} finally {
				signal.removeEventListener('abort', onAbort)
			}
		},

		async info(stream) {
			return info(stream)
		},

		async deadLetters(stream, { count = 100 } = {}) {
			return (streams.get(deadLetterStream(stream))?.entries ?? []).slice(0, count).map(toDeadLetter)
		},

		async pendingCount(stream, group) {
			return streams.get(stream)?.groups.get(group)?.pending.size ?? 0
		},

		async groupProgress(stream, group, { count = 100 } = {}) {
			const g = streams.get(stream)?.groups.get(group)
			if (!g) return null
			const pending = [...g.pending.keys()].sort(compareIds)
			return { lastDeliveredId: g.lastDelivered, pendingCount: pending.length, pending: pending.slice(0, count) }
		},

		async notify(channel, payload) {
			// Asynchronous like a network hop: the sender never runs its listener's code inline.
			for (const listener of listeners.get(channel) ?? []) queueMicrotask(() => listener(payload))
		},

		async listen(channel, onMessage) {
			let set = listeners.get(channel)
			if (!set) listeners.set(channel, (set = new Set()))
			const listener = (payload: string) => onMessage(payload)
			set.add(listener)
			return async () => {
				set.delete(listener)
				if (!set.size && listeners.get(channel) === set) listeners.delete(channel)
			}
		},

		async close() {
			closing.abort()
			listeners.clear()
			await consumers.stopAll()
		},
	}
}
