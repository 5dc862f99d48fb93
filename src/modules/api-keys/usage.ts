import { sql } from 'drizzle-orm'
import type { Db } from '../../db/client'
import type { Clock } from '../../lib/clock'
import type { Logger } from '../../logger'

/**
 * `lastUsedAt` of API keys without a write per request: each use is noted in memory and the
 * latest per key is written in one statement every `flushEveryMs` and at shutdown. A crash loses
 * at most one interval of "last used" times, never anything else.
 */
export function createUsageRecorder({ db, clock, logger, flushEveryMs }: { db: Db; clock: Clock; logger: Logger; flushEveryMs: number }) {
	let pending = new Map<string, Date>()
	let timer: ReturnType<typeof setInterval> | undefined
	let flushing: Promise<void> = Promise.resolve()

	const write = async (batch: Map<string, Date>) => {
		const rows = [...batch].map(([id, at]) => ({ id, at: at.toISOString() }))
		// One statement for the whole batch; greatest() keeps a later time another instance wrote.
		await db.execute(sql`
			update api_keys k set last_used_at = greatest(k.last_used_at, v.at)
			from jsonb_to_recordset(${JSON.stringify(rows)}::jsonb) as v(id uuid, at timestamptz)
			where k.id = v.id`)
	}

	const flush = () => {
		flushing = flushing.then(async () => {
			if (pending.size === 0) return
			const batch = pending
			pending = new Map()
			try {
				await write(batch)
			} catch (err) {
				logger.warn({ err, keys: batch.size }, 'could not record when API keys were last used; retrying at the next flush')
				for (const [id, at] of batch) if (!pending.has(id)) pending.set(id, at)
			}
		})
		return flushing
	}

	return {
		record(keyId: string) {
			pending.set(keyId, clock.now())
		},
		flush,
		start() {
			timer ??= setInterval(() => void flush(), flushEveryMs)
			timer.unref?.()
		},
		async stop() {
			clearInterval(timer)
			timer = undefined
			await flush()
		},
	}
}

export type UsageRecorder = ReturnType<typeof createUsageRecorder>
