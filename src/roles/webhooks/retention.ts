import { sql } from 'drizzle-orm'
import type { Db } from '../../db/client'
import { rowsOf } from '../../db/projection/statements'
import { type Periodic, startPeriodic } from '../../lib/background'
import type { Logger } from '../../logger'

/** Rows one statement deletes: a short transaction each, however far behind the log is. */
const BATCH = 5_000

/** How often the role looks for deliveries past their retention. */
const EVERY_MS = 10 * 60_000

/** The smallest uuid v7 of this millisecond: every delivery recorded earlier has a smaller id. */
export function firstIdAt(ms: number): string {
	const hex = Math.max(0, Math.floor(ms)).toString(16).padStart(12, '0')
	return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-7000-8000-000000000000`
}

/**
 * Deletes deliveries that ended (delivered or failed) before `olderThan` and were recorded before
 * it, `BATCH` at a time; a pending one stays whatever its age, it is work still to do. Delivery ids
 * are uuid v7, so the rows recorded before `olderThan` are a range of the primary key: a round
 * reads that range, not the table. Resolves with the number deleted.
 */
export async function pruneDeliveries(db: Db, olderThan: Date, stopping: () => boolean = () => false): Promise<number> {
	let pruned = 0
	while (!stopping()) {
		const result = await db.execute(sql`
			delete from webhook_deliveries where id in (
				select id from webhook_deliveries
				where id < ${firstIdAt(olderThan.getTime())}::uuid and state <> 'pending'
					and coalesce(delivered_at, last_attempt_at, created_at) < ${olderThan.toISOString()}::timestamptz
				limit ${BATCH})
			returning 1 as gone`)
		const deleted = rowsOf(result).length
		pruned += deleted
		if (deleted < BATCH) break
	}
	return pruned
}

/**
 * Keeps the delivery log to `retentionMs`: at the role's start and every `EVERY_MS`, deliveries that
 * ended longer ago go (their bodies are most of the table). Several processes may run it at once.
 */
export function startDeliveryRetention({ db, logger, retentionMs }: { db: Db; logger: Logger; retentionMs: number }): Periodic {
	return startPeriodic(
		async (stopping) => {
			const pruned = await pruneDeliveries(db, new Date(Date.now() - retentionMs), stopping)
			if (pruned) logger.info({ pruned }, 'deleted webhook deliveries past WEBHOOK_DELIVERY_RETENTION_SECONDS')
		},
		{ everyMs: EVERY_MS, immediately: true, onError: (err) => logger.warn({ err }, 'could not delete old webhook deliveries') },
	)
}
