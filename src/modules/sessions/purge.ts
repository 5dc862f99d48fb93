import { and, asc, eq, isNotNull, sql, type SQL } from 'drizzle-orm'
import { getTableConfig, type PgColumn, type PgTable } from 'drizzle-orm/pg-core'
import type { Database, Db, Tx } from '../../db/client'
import { rowsOf } from '../../db/projection/statements'
import {
	profilePictures,
	sendRequests,
	sessionChats,
	sessionContacts,
	sessionGroupParticipants,
	sessionGroups,
	sessionLidMappings,
	sessionMessageReactions,
	sessionMessages,
	sessionPollVotes,
	sessions,
} from '../../db/schema'
import { type Periodic, startPeriodic } from '../../lib/background'
import type { Logger } from '../../logger'

/**
 * Deletes what deleted sessions leave behind, a batch of rows per transaction. One transaction for
 * a session of a million messages would run for many seconds: it would hold back vacuum for every
 * table, keep the consumer loop that ran it (and every event in its batch) waiting, and lose all its
 * work to a restart. Short batches do none of that.
 *
 * The work list is the database: every session with `deleted_at` (hidden from the API since the
 * DELETE) is pending until its row is gone, so a restart, or another API instance, carries on where
 * the last committed batch left off. The row goes last, once its rows are gone and the device is
 * unlinked (`unlinked_at`, set by the projection when the runner reports the logout); its cascade
 * then only takes the creds and what arrived late.
 */

/** The session's tables, biggest first; each keyed by `session_id` and then the columns that make a row unique. */
const TABLES: PgTable[] = [
	sessionMessages,
	sessionMessageReactions,
	sessionPollVotes,
	sessionChats,
	sessionContacts,
	sessionLidMappings,
	sessionGroupParticipants,
	sessionGroups,
	sendRequests,
	profilePictures,
]

const keyOf = (table: PgTable) => {
	const { name, columns, primaryKeys } = getTableConfig(table)
	const [first, ...rest] = primaryKeys[0]?.columns.map((c) => c.name) ?? []
	if (first !== 'session_id' || !rest.length) throw new Error(`${name}: the purge needs a primary key of (session_id, …)`)
	// The table's own columns: asked for its SQL type, a primary key's column object never returns (drizzle-orm 0.45).
	return rest.map((n) => columns.find((c) => c.name === n)!)
}
const KEYS = new Map(TABLES.map((t) => [t, keyOf(t)]))

const list = (parts: SQL[]) => sql.join(parts, sql`, `)
const cast = (column: PgColumn, value: unknown) => sql`${value}::${sql.raw(column.getSQLType())}`

/** Where a table's purge got to: the key of the last row deleted, so the next batch starts past it. */
type Cursor = Map<PgTable, unknown[]>

/**
 * Deletes up to `rows` rows of the session from `table`, the first ones past the cursor in key
 * order (an index range: the batches never walk again over the index entries of rows already gone).
 */
async function deleteSome(tx: Tx, table: PgTable, sessionId: string, rows: number, cursor: Cursor): Promise<number> {
	const key = KEYS.get(table)!
	const names = key.map((c) => sql`${sql.identifier(c.name)}`)
	const after = cursor.get(table)
	const past = after ? sql`and (${list(names)}) > (${list(key.map((c, i) => cast(c, after[i])))})` : sql``
	const result = await tx.execute(sql`
		with doomed as (
			select ${list(names)} from ${table} where session_id = ${sessionId} ${past}
			order by ${list(names)} limit ${sql.raw(String(rows))}
		), gone as (
			delete from ${table} t using doomed d
			where t.session_id = ${sessionId} and ${sql.join(
				names.map((n) => sql`t.${n} = d.${n}`),
				sql` and `,
			)}
			returning 1
		)
		select (select count(*) from gone)::int as deleted, last.* from (select * from doomed order by ${list(names.map((n) => sql`${n} desc`))} limit 1) last`)
	const [row] = rowsOf<Record<string, unknown>>(result)
	if (!row) return 0
	cursor.set(
		table,
		key.map((c) => row[c.name]),
	)
	return row.deleted as number
}

export type PurgeStep = 'rows' | 'removed' | 'waiting' | 'skipped'

/**
 * One transaction of the purge of one session: deletes a batch from its first table that has rows
 * left (`rows`), or, when none has, its row if the device is unlinked (`removed`); else the session
 * waits for its logout (`waiting`). `skipped`: the session is not deleted, or another purge holds it.
 */
export async function purgeStep(db: Db, sessionId: string, rows: number, cursor: Cursor = new Map()): Promise<PurgeStep> {
	return db.transaction(async (tx) => {
		const [session] = await tx
			.select({ unlinkedAt: sessions.unlinkedAt })
			.from(sessions)
			.where(and(eq(sessions.id, sessionId), isNotNull(sessions.deletedAt)))
			.for('no key update', { skipLocked: true })
		if (!session) return 'skipped'
		for (const table of TABLES) if ((await deleteSome(tx, table, sessionId, rows, cursor)) > 0) return 'rows'
		if (!session.unlinkedAt) return 'waiting'
		await tx.delete(sessions).where(eq(sessions.id, sessionId))
		return 'removed'
	})
}

/** Announced (by a trigger) when a session is deleted or its device unlinked. */
export const SESSION_DELETED_CHANNEL = 'switchboard_session_deleted'

export interface SessionPurgeOptions {
	db: Db
	listen: Database['listen']
	logger: Logger
	/** Rows deleted per transaction. */
	batchRows: number
	/** Pause between two transactions. */
	pauseMs: number
	/** How often the deleted sessions are looked at when no announcement wakes the purge. */
	idleMs?: number
}

/**
 * Runs the purge in the background (api role) until stopped: at once, again whenever a session is
 * deleted (anywhere: the announcement comes through PostgreSQL), and every `idleMs` in case an
 * announcement was missed. A stop waits for the transaction in hand.
 */
export function startSessionPurge({ db, listen, logger, batchRows, pauseMs, idleMs = 60_000 }: SessionPurgeOptions): Periodic {
	const log = logger.child({ component: 'session-purge' })
	const cursors = new Map<string, Cursor>()

	async function pass(stopping: () => boolean): Promise<void> {
		const pending = await db.select({ id: sessions.id }).from(sessions).where(isNotNull(sessions.deletedAt)).orderBy(asc(sessions.deletedAt))
		for (const { id } of pending) {
			const cursor = cursors.get(id) ?? new Map()
			cursors.set(id, cursor)
			let batches = 0
			let step: PurgeStep = 'rows'
			while (!stopping() && step === 'rows') {
				step = await purgeStep(db, id, batchRows, cursor)
				if (step === 'rows') batches++
				if (pauseMs && step === 'rows') await Bun.sleep(pauseMs)
			}
			if (step !== 'rows') cursors.delete(id)
			if (step === 'removed') log.info({ sessionId: id, batches }, 'deleted session purged')
			if (stopping()) return
		}
	}

	const purge = startPeriodic(pass, {
		everyMs: idleMs,
		immediately: true,
		onError: (err) => log.warn({ err }, 'session purge failed; trying again later'),
	})
	const listening = listen(SESSION_DELETED_CHANNEL, purge.wake, purge.wake).catch((err) => {
		log.warn({ err }, 'cannot hear of deleted sessions; looking for them every minute')
		return null
	})
	return {
		wake: purge.wake,
		async stop() {
			await purge.stop()
			await (await listening)?.stop()
		},
	}
}
