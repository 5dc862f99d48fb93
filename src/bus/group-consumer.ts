import { hostname } from 'node:os'
import { threadId } from 'node:worker_threads'
import { withTimeout } from '../lib/timeout'
import type { Logger } from '../logger'
import { BUS_DEFAULTS, type ConsumeOptions, type DeadLetter, type Delivery, type GroupConsumer } from './bus'
import { parseEnvelope } from '../core/catalogue'
import { worthLogging } from '../lib/failure-log'

/** An entry as a backend stores it: the envelope is still the JSON string it was written as. */
export interface RawEntry {
	stream: string
	id: string
	payload: string | null
	deliveries: number
}

/** A dedicated (blocking) connection of one consumer. */
export interface GroupReader {
	/** New entries for this consumer (`XREADGROUP … >`), waiting up to `blockMs`; [] on timeout or interrupt. */
	readNew(group: string, consumer: string, streams: readonly string[], count: number, blockMs: number): Promise<RawEntry[]>
	/** Wakes a blocked `readNew`, which then returns []. */
	interrupt(): void
	close(): Promise<void>
}

export interface ClaimResult {
	/** Where the next claim scan continues; `'0-0'` once the whole pending list was scanned. */
	cursor: string
	entries: RawEntry[]
	/** Pending entries that no longer exist (trimmed before anyone acknowledged them). */
	deleted: string[]
}

/** What a bus implementation provides so the one consumer loop below runs on it. */
export interface GroupBackend {
	ensureGroup(stream: string, group: string, startId: '0' | '$'): Promise<void>
	openReader(consumer: string): GroupReader
	/** XAUTOCLAIM: takes entries idle ≥ `minIdleMs` for `consumer`, with their delivery counts. */
	claim(stream: string, group: string, consumer: string, minIdleMs: number, count: number, cursor: string): Promise<ClaimResult>
	/** Resets the idle time of entries still being handled, without counting a delivery (`XCLAIM … JUSTID`). */
	touch(stream: string, group: string, consumer: string, ids: readonly string[]): Promise<void>
	/** Acknowledges; `clearErrors` also forgets errors recorded for these entries. */
	ack(stream: string, group: string, ids: readonly string[], clearErrors: boolean): Promise<void>
	/** Remembers why an entry failed, for whoever dead-letters it later (maybe another process). */
	recordFailure(stream: string, group: string, id: string, error: string): Promise<void>
	lastError(stream: string, group: string, id: string): Promise<string | null>
	/** Appends to `<stream>:dead` and acknowledges, atomically. */
	deadLetter(stream: string, group: string, entry: RawEntry, error: string): Promise<DeadLetter>
	/** Forgets a consumer that holds no pending entries (a stopped one), so groups do not collect names. */
	removeIdleConsumer(stream: string, group: string, consumer: string): Promise<void>
	/** Names of the group's consumers on `stream`. */
	consumerNames(stream: string, group: string): Promise<string[]>
}

function consumerName(): string {
	return `${hostname()}-${process.pid}-${threadId}-${Math.random().toString(36).slice(2, 8)}`
}

/**
 * A failure as the dead-letter stream records it: the innermost cause first (Postgres' own error
 * and its detail), then the errors that wrapped it (a failed query's carries the whole statement,
 * which would otherwise crowd the cause out), cut to 4 000 characters.
 */
function errorText(err: unknown): string {
	const chain: unknown[] = []
	for (let e = err; e && chain.length < 5; e = (e as { cause?: unknown }).cause) chain.push(e)
	const describe = (e: unknown) => {
		if (!(e instanceof Error)) return String(e)
		const detail = (e as { detail?: unknown }).detail
		return `${e.name}: ${e.message}${typeof detail === 'string' && detail ? ` (${detail})` : ''}`
	}
	return chain.reverse().map(describe).join(' ← ').slice(0, 4_000)
}

/** Marks a recorded error as one that must not dead-letter the entry. */
const TRANSIENT = 'transient: '

class TransientFailure extends Error {
	override name = 'TransientFailure'
	constructor(readonly original: unknown) {
		super(`transient failure: ${errorText(original)}`)
	}
}

/** Entries a consumer is handling, of one stream; a bus's consumers in this process keep theirs in one `InHand`. */
type Held = { stream: string; group: string; consumer: string; ids: readonly string[] }
type InHand = Set<Held>

/**
 * The consumer loop both buses share, so their semantics cannot drift: claim what is idle, read
 * what is new, hand valid entries to the handler in batches, acknowledge after success.
 *
 * At-least-once: an entry is acknowledged only after its handler resolved, so a consumer that
 * dies mid-batch leaves the batch pending and another one claims it after `claimIdleMs`. The
 * handler must therefore be idempotent. A failing batch is retried entry by entry so one poison
 * entry cannot hold back the others; that entry stays pending and is claimed again later, until
 * `maxDeliveries` attempts dead-letter it.
 */
async function startGroupConsumer(backend: GroupBackend, options: ConsumeOptions, logger: Logger, inHand: InHand): Promise<GroupConsumer> {
	const name = options.consumer ?? consumerName()
	const { group, streams, handle } = options
	const batchSize = options.batchSize ?? BUS_DEFAULTS.batchSize
	const blockMs = options.blockMs ?? BUS_DEFAULTS.blockMs
	const claimIdleMs = options.claimIdleMs ?? BUS_DEFAULTS.claimIdleMs
	const maxDeliveries = options.maxDeliveries ?? BUS_DEFAULTS.maxDeliveries
	const claimEveryMs = Math.max(Math.floor(claimIdleMs / 2), 20)
	const log = logger.child({ group, consumer: name })

	for (const stream of streams) await backend.ensureGroup(stream, group, options.startId ?? '0')
	const reader = backend.openReader(name)
	let stopping = false
	let wake: (() => void) | undefined

	async function deadLetter(entry: RawEntry, error: string) {
		const dead = await backend.deadLetter(entry.stream, group, entry, error)
		log.warn({ stream: entry.stream, entryId: entry.id, deliveries: entry.deliveries, error }, 'entry moved to the dead-letter stream')
		options.onDeadLetter?.(dead)
	}

	async function failed(entry: RawEntry, err: unknown) {
		const error = errorText(err)
		if (entry.deliveries >= maxDeliveries) return deadLetter(entry, error)
		log.warn({ stream: entry.stream, entryId: entry.id, deliveries: entry.deliveries, err }, 'handler failed; the entry will be retried')
		await backend.recordFailure(entry.stream, group, entry.id, error)
	}

	/**
	 * The handler could not run (its database is away): nothing is known about these entries, so
	 * they are marked as such — however often they are redelivered meanwhile, they are not
	 * dead-lettered — and the loop backs off.
	 */
	async function transient(entries: readonly RawEntry[], err: unknown): Promise<never> {
		for (const e of entries) await backend.recordFailure(e.stream, group, e.id, TRANSIENT + errorText(err))
		throw new TransientFailure(err)
	}

	/** Resets the idle time of entries in hand; a failure is logged, and the next renewal tries again. */
	function renew({ stream, group, consumer, ids }: Held) {
		backend.touch(stream, group, consumer, ids).catch((err) => log.warn({ err, stream }, 'could not extend the claim on entries in hand'))
	}

	/**
	 * Runs the handler while telling the group the entries are still being worked on: a batch that
	 * takes longer than `claimIdleMs` would otherwise be claimed by another consumer while in hand,
	 * handled twice, and have its delivery count driven towards the dead stream.
	 */
	async function handleAlive(entries: readonly { raw: RawEntry; delivery: Delivery }[]) {
		const byStream = [...Map.groupBy(entries, (e) => e.raw.stream)]
		const held = byStream.map(([stream, es]): Held => ({ stream, group, consumer: name, ids: es.map((e) => e.raw.id) }))
		for (const h of held) inHand.add(h)
		const beat = setInterval(
			() => {
				for (const h of held) renew(h)
			},
			Math.max(Math.floor(claimIdleMs / 3), 5),
		)
		try {
			await handle(entries.map((e) => e.delivery))
		} finally {
			clearInterval(beat)
			for (const h of held) inHand.delete(h)
		}
	}

	async function ack(batch: readonly RawEntry[]) {
		await Promise.all(
			[...Map.groupBy(batch, (e) => e.stream)].map(([stream, entries]) =>
				backend.ack(
					stream,
					group,
					entries.map((e) => e.id),
					entries.some((e) => e.deliveries > 1),
				),
			),
		)
	}

	async function processBatch(batch: readonly RawEntry[]) {
		const valid: { raw: RawEntry; delivery: Delivery }[] = []
		for (const raw of batch) {
			if (raw.deliveries > maxDeliveries) {
				// Delivered that often without an ack or a failure of its own: it keeps killing its consumer.
				const last = await backend.lastError(raw.stream, group, raw.id)
				if (!last?.startsWith(TRANSIENT)) {
					await deadLetter(raw, last ?? `not acknowledged after ${raw.deliveries - 1} deliveries`)
					continue
				}
			}
			const parsed = parseEnvelope(raw.payload)
			if (!parsed.ok) {
				await deadLetter(raw, parsed.error)
				continue
			}
			valid.push({ raw, delivery: { stream: raw.stream, id: raw.id, envelope: parsed.envelope, deliveries: raw.deliveries } })
		}
		if (!valid.length) return
		try {
			await handleAlive(valid)
			await ack(valid.map((v) => v.raw))
			return
		} catch (err) {
			if (options.isTransient?.(err))
				return transient(
					valid.map((v) => v.raw),
					err,
				)
			if (valid.length === 1) return failed(valid[0]!.raw, err)
			log.debug({ err, size: valid.length }, 'batch failed; retrying its entries one by one')
		}
		for (const [i, v] of valid.entries()) {
			const { raw } = v
			try {
				await handleAlive([v])
				await ack([raw])
			} catch (err) {
				if (options.isTransient?.(err))
					return transient(
						valid.slice(i).map((v) => v.raw),
						err,
					)
				await failed(raw, err)
			}
		}
	}

	async function claimAll(minIdleMs: number) {
		for (const stream of streams) {
			// What this process's consumers of the group hold is renewed first, in the same turn as the
			// claim below (so the bus sees the two back to back): a stall of the process delays their
			// keep-alives as much as this claim, and must not hand their batches over.
			for (const h of inHand) if (h.stream === stream && h.group === group) renew(h)
			let cursor = '0-0'
			do {
				const claimed = await backend.claim(stream, group, name, minIdleMs, batchSize, cursor)
				if (claimed.deleted.length)
					log.error(
						{ stream, ids: claimed.deleted.slice(0, 20), count: claimed.deleted.length },
						'pending entries were trimmed before being processed',
					)
				if (claimed.entries.length) {
					log.info({ stream, count: claimed.entries.length }, 'claimed idle pending entries')
					await processBatch(claimed.entries)
				}
				cursor = claimed.cursor
			} while (cursor !== '0-0' && !stopping)
		}
	}

	/** The predecessors' names: they hold nothing once their entries were taken over. */
	async function forgetPredecessors() {
		for (const stream of streams)
			for (const other of await backend.consumerNames(stream, group)) if (other !== name) await backend.removeIdleConsumer(stream, group, other)
	}

	const loop = (async () => {
		let nextClaimAt = 0
		let failures = 0
		let takeOver = !!options.takeOver
		while (!stopping) {
			try {
				if (Date.now() >= nextClaimAt) {
					// Taking over, nothing of the group is in anyone's hands any more: waiting for the
					// entries to idle would only delay them, and reading newer ones first would reorder them.
					await claimAll(takeOver ? 0 : claimIdleMs)
					if (takeOver) {
						takeOver = false
						await forgetPredecessors()
					}
					nextClaimAt = Date.now() + claimEveryMs
				}
				if (stopping) break
				const wait = Math.max(1, Math.min(blockMs, nextClaimAt - Date.now()))
				const entries = await reader.readNew(group, name, streams, batchSize, wait)
				if (entries.length) await processBatch(entries)
				if (failures) log.info({ failures }, 'consumer loop recovered')
				failures = 0
			} catch (err) {
				if (stopping) break
				if (err instanceof Error && err.message.startsWith('NOGROUP')) {
					// Redis lost the group (a restart without persistence, a deleted stream). Create it again
					// from the start of what the stream holds now: re-reading is safe, skipping is not.
					log.warn({ streams }, 'consumer group gone; creating it again')
					const recreated = await Promise.all(streams.map((stream) => backend.ensureGroup(stream, group, '0'))).then(
						() => true,
						() => false,
					)
					if (recreated) continue
				}
				failures++
				// The 1st, 2nd, 4th… failure of a run: an outage of an hour logs a dozen lines, not hundreds.
				if (worthLogging(failures)) {
					if (err instanceof TransientFailure) log.warn({ err: err.original, failures }, 'handler unavailable; backing off')
					else log.warn({ err, failures }, 'consumer loop error; backing off')
				}
				await new Promise<void>((resolve) => {
					const timer = setTimeout(resolve, Math.min(100 * 2 ** failures, 5_000))
					wake = () => {
						clearTimeout(timer)
						resolve()
					}
				})
			}
		}
	})()

	let stopped: Promise<void> | undefined
	return {
		name,
		stop() {
			stopped ??= (async () => {
				stopping = true
				wake?.()
				// The interrupt can reach Redis before the blocking read does; repeat until the loop ends.
				let done = false
				void loop.finally(() => (done = true))
				while (!done) {
					reader.interrupt()
					await withTimeout(loop, 100, 'consumer loop').catch(() => {})
				}
				await reader.close()
				for (const stream of streams)
					await backend.removeIdleConsumer(stream, group, name).catch((err) => log.debug({ err }, 'could not remove the consumer'))
			})()
			return stopped
		},
	}
}

/** The group consumers one bus started, so that closing the bus stops those still running. */
export function consumerRegistry(backend: GroupBackend, logger: Logger) {
	const running = new Set<GroupConsumer>()
	const inHand: InHand = new Set()
	return {
		async start(options: ConsumeOptions): Promise<GroupConsumer> {
			const consumer = await startGroupConsumer(backend, options, logger, inHand)
			running.add(consumer)
			return { name: consumer.name, stop: () => consumer.stop().finally(() => running.delete(consumer)) }
		},
		async stopAll(): Promise<void> {
			await Promise.all([...running].map((c) => c.stop()))
		},
	}
}

/** A dead-letter entry's fields (as both buses store them) as a DeadLetter. */
export function deadLetterFrom(id: string, f: Record<string, string | undefined>): DeadLetter {
	return {
		id,
		stream: f.stream ?? '',
		sourceId: f.sourceId ?? '',
		group: f.group ?? '',
		error: f.error ?? '',
		deliveries: Number(f.deliveries ?? 0),
		payload: f.payload ?? null,
		failedAt: f.failedAt ?? '',
	}
}
