import { sql } from 'drizzle-orm'
import type { Db } from '../../db/client'
import { rowsOf } from '../../db/projection/statements'
import { refreshTokens, userTokens } from '../../db/schema'
import { type Periodic, startPeriodic } from '../../lib/background'
import type { Clock } from '../../lib/clock'
import type { Logger } from '../../logger'

/** How often the api role looks for expired tokens. */
const EVERY_MS = 10 * 60_000

/**
 * Deletes refresh tokens and mailed links (address confirmations, password resets) whose lifetime
 * is over: every refresh leaves the rotated token behind, so an open dashboard adds a row every
 * few minutes for good otherwise. An expired token is refused as an unknown one is, rotated or not
 * (a rotated one revokes its family when presented again only within its lifetime), so its row
 * serves nothing. Resolves with the number deleted.
 */
export async function pruneExpiredTokens(db: Db, now: Date): Promise<number> {
	// One statement: both kinds go together, and a reader never sees one gone and the other left.
	const cutoff = now.toISOString()
	const result = await db.execute(sql`
		with refresh as (delete from ${refreshTokens} where ${refreshTokens.expiresAt} < ${cutoff}::timestamptz returning 1),
			mailed as (delete from ${userTokens} where ${userTokens.expiresAt} < ${cutoff}::timestamptz returning 1)
		select (select count(*) from refresh) + (select count(*) from mailed) as pruned`)
	return Number(rowsOf<{ pruned: number | string }>(result)[0]?.pruned ?? 0)
}

/** Runs `pruneExpiredTokens` at the start and every `EVERY_MS` (api role; any number of instances may); a stop waits for the round in hand. */
export function startTokenRetention({ db, clock, logger }: { db: Db; clock: Clock; logger: Logger }): Periodic {
	return startPeriodic(
		async () => {
			const pruned = await pruneExpiredTokens(db, clock.now())
			if (pruned) logger.debug({ pruned }, 'deleted expired refresh tokens and mailed links')
		},
		{ everyMs: EVERY_MS, immediately: true, onError: (err) => logger.warn({ err }, 'could not delete expired tokens') },
	)
}
