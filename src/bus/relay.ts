import { asc, inArray, isNull, lt, sql } from 'drizzle-orm'
import type { Database } from '../db/client'
import { outbox } from '../db/schema'
import type { Logger } from '../logger'
import type { Bus } from './bus'
import { validateEnvelope, type AnyEnvelope } from '../core/catalogue'

export interface RelayOptions {
	database: Database
	bus: Bus
	logger: Logger
	/** How often pending rows are looked for when nobody nudges (default 250 ms). */
	intervalMs?: number
	/** Rows per transaction (default 500). */
	batchSize?: number
	/** Published rows are deleted after this long (default 24 h). */
	retentionMs?: number
	/** How often pruning runs (default 60 s). */
	pruneEveryMs?: number
}

export interface Relay {
	start(): void
	/** Publishes soon (right after the caller's commit) instead of at the next tick. */
	nudge(): void
	/** Publishes everything pending now; resolves with the number of rows published. */
	flush(): Promise<number>
	/** One batch: the rows published, or -1 when another relay holds the turn. */
	runOnce(): Promise<number>
	/** Deletes published rows older than the retention; resolves with the number deleted. */
	prune(): Promise<number>
	/** Stops the timer after the batch in hand. */
	stop(): Promise<void>
}

// pg advisory lock key of "the relay's turn" ('outbox' in ASCII).
const RELAY_LOCK = 0x6f7574626f78
const PRUNE_CHUNK = 5_000

function rowsOf<T>(result: unknown): T[] {
	return (Array.isArray(result) ? result : ((result as { rows?: T[] }).rows ?? [])) as T[]
}

/**
 * Publishes outbox rows in id order. Rows are locked `FOR UPDATE SKIP LOCKED` and stamped
 * `published_at` in the transaction that read them, so two relays never publish the same row.
 * Publishing happens before the commit: if the commit fails after the publish, the rows go out
 * again on the next run; consumers are idempotent on the envelope id, so at-least-once is safe.
 *
 * Several relays (one per API process) take turns on a transaction-scoped advisory lock. SKIP
 * LOCKED alone would let a second relay publish rows 501–1000 while the first still publishes
 * 1–500, reordering a session's commands; the turn keeps the stream in id order.
 */
export function createRelay(options: RelayOptions): Relay {
	const { database, bus } = options
	const intervalMs = options.intervalMs ?? 250
	const batchSize = options.batchSize ?? 500
	const retentionMs = options.retentionMs ?? 24 * 3600 * 1000
	const pruneEveryMs = options.pruneEveryMs ?? 60_000
	const log = options.logger.child({ component: 'outbox-relay' })
	const db = database.db

	let timer: Timer | undefined
	let running: Promise<unknown> | null = null
	let again = false
	let stopped = true
	let failures = 0
	let lastPrune = 0

	async function runOnce(): Promise<number> {
		return db.transaction(async (tx) => {
			const [turn] = rowsOf<{ locked: boolean }>(await tx.execute(sql.raw(`select pg_try_advisory_xact_lock(${RELAY_LOCK}) as locked`)))
			if (!turn?.locked) return -1
			const rows = await tx
				.select({ id: outbox.id, payload: outbox.payload })
				.from(outbox)
				.where(isNull(outbox.publishedAt))
				.orderBy(asc(outbox.id))
				.limit(batchSize)
				.for('update', { skipLocked: true })
			if (!rows.length) return 0
			const envelopes: AnyEnvelope[] = []
			for (const row of rows) {
				const checked = validateEnvelope(row.payload)
				if (checked.ok) envelopes.push(checked.envelope)
				// enqueue() validated it; a row that fails now was written around it. Publishing it would
				// only move the failure to every consumer, and retrying would block the rows behind it.
				else log.error({ outboxId: row.id, error: checked.error }, 'dropping an invalid outbox row')
			}
			await bus.publish(envelopes)
			await tx
				.update(outbox)
				.set({ publishedAt: sql`now()` })
				.where(
					inArray(
						outbox.id,
						rows.map((r) => r.id),
					),
				)
			return rows.length
		})
	}

	async function flush(): Promise<number> {
		let total = 0
		for (;;) {
			const n = await runOnce()
			if (n > 0) total += n
			if (n < batchSize) return total
		}
	}

	async function prune(): Promise<number> {
		const cutoff = new Date(Date.now() - retentionMs)
		let total = 0
		for (;;) {
			const old = db.select({ id: outbox.id }).from(outbox).where(lt(outbox.publishedAt, cutoff)).limit(PRUNE_CHUNK)
			const deleted = await db.delete(outbox).where(inArray(outbox.id, old)).returning({ id: outbox.id })
			total += deleted.length
			if (deleted.length < PRUNE_CHUNK) return total
		}
	}

	async function tick() {
		timer = undefined
		try {
			do {
				again = false
				await flush()
			} while (again && !stopped)
			failures = 0
			if (Date.now() - lastPrune >= pruneEveryMs) {
				lastPrune = Date.now()
				const pruned = await prune()
				if (pruned) log.debug({ pruned }, 'pruned published outbox rows')
			}
		} catch (err) {
			failures++
			log.warn({ err, failures }, 'outbox relay failed; retrying')
		}
	}

	function schedule(delay: number) {
		if (stopped || running || timer) return
		timer = setTimeout(() => {
			running = tick().finally(() => {
				running = null
				schedule(failures ? Math.min(intervalMs * 2 ** failures, 10_000) : intervalMs)
			})
		}, delay)
	}

	return {
		start() {
			if (!stopped) return
			stopped = false
			lastPrune = Date.now()
			schedule(0)
		},
		nudge() {
			if (stopped) return
			if (running) {
				again = true
				return
			}
			clearTimeout(timer)
			timer = undefined
			schedule(0)
		},
		flush,
		runOnce,
		prune,
		async stop() {
			stopped = true
			clearTimeout(timer)
			timer = undefined
			await running
		},
	}
}
