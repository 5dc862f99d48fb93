import { lt } from 'drizzle-orm'
import type { Db } from '../../db/client'
import { sendRequests } from '../../db/schema'
import { type Periodic, startPeriodic } from '../../lib/background'
import type { Logger } from '../../logger'

/** Forgets Idempotency-Keys older than `olderThan`: a retry after that is a new send. */
export async function pruneSendRequests(db: Db, olderThan: Date): Promise<number> {
	const deleted = await db.delete(sendRequests).where(lt(sendRequests.createdAt, olderThan)).returning({ key: sendRequests.idempotencyKey })
	return deleted.length
}

/** Runs `pruneSendRequests` every `everyMs` for keys past `retentionMs` (api role); a stop waits for the prune in hand. */
export function startIdempotencyRetention({
	db,
	logger,
	retentionMs,
	everyMs = 10 * 60_000,
}: {
	db: Db
	logger: Logger
	retentionMs: number
	everyMs?: number
}): Periodic {
	const log = logger.child({ component: 'idempotency-retention' })
	return startPeriodic(
		async () => {
			const pruned = await pruneSendRequests(db, new Date(Date.now() - retentionMs))
			if (pruned) log.debug({ pruned }, 'forgot expired idempotency keys')
		},
		{ everyMs, onError: (err) => log.warn({ err }, 'could not prune idempotency keys') },
	)
}
