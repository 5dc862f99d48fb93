import { sql } from 'drizzle-orm'
import type { Db } from '../db/client'
import { rowsOf } from '../db/projection/statements'
import { type Periodic, startPeriodic } from '../lib/background'
import type { Logger } from '../logger'
import type { MediaStore } from './store'

/** Objects removed per statement. */
const BATCH = 500

/**
 * Removes the stored objects no file and no profile picture names any more: what a deleted
 * session's media leave behind once its rows are gone. Only objects unused for `graceMs` go (a
 * file's row names its object a moment after the object is kept). Each batch is one statement
 * that locks what it takes (`skip locked`: any number of api instances may run this), and the
 * objects are deleted from the store only after their rows are: a crash in between leaves an
 * object nobody can reach, never a row without its object. Resolves with how many went.
 */
export async function collectUnusedMedia(db: Db, store: MediaStore, graceMs: number, log?: Logger): Promise<number> {
	let removed = 0
	for (;;) {
		const gone = rowsOf<{ key: string }>(
			await db.execute(sql`
				delete from media_blobs b using (
					select c.tenant_id, c.sha256 from media_blobs c
					where c.used_at < now() - ${graceMs} * interval '1 millisecond'
						and not exists (select 1 from media m where m.tenant_id = c.tenant_id and m.sha256 = c.sha256)
						and not exists (select 1 from profile_pictures p where p.tenant_id = c.tenant_id and p.sha256 = c.sha256)
					order by c.used_at limit ${BATCH}
					for update skip locked
				) d
				where b.tenant_id = d.tenant_id and b.sha256 = d.sha256
				returning b.storage_key as key`),
		)
		for (const { key } of gone)
			await store.delete(key).catch((err) => log?.warn({ err, key }, 'could not delete an unused media object; it stays, unreachable'))
		removed += gone.length
		if (gone.length < BATCH) return removed
	}
}

/** Runs `collectUnusedMedia` every `intervalMs` (api role) until stopped; a stop waits for the batch in hand. */
export function startMediaCollector(options: { db: Db; store: MediaStore; logger: Logger; intervalMs: number; graceMs: number }): Periodic {
	const { db, store, intervalMs, graceMs } = options
	const log = options.logger.child({ component: 'media-collector' })
	return startPeriodic(
		async () => {
			const removed = await collectUnusedMedia(db, store, graceMs, log)
			if (removed) log.info({ removed }, 'removed unused media objects')
		},
		{ everyMs: intervalMs, onError: (err) => log.warn({ err }, 'collecting unused media failed; trying again next round') },
	)
}
