import { eq, sql } from 'drizzle-orm'
import type { DomainEvent } from '../src/core/catalogue'
import type { openPostgres } from '../src/db/client'
import { sessionMessages } from '../src/db/schema'
import { createSession } from '../test/events/fixtures'
import { createTestDatabase } from '../test/helpers/database'
import { consumeHistory, openEventRig, publishHistory } from './event-rig'
import { copyMessages, copyValue } from './copy'
import type { BenchResult } from './run'

const MESSAGES = Number(process.env.BENCH_MESSAGES ?? 100_000)

/**
 * History sync of MESSAGES messages, end to end: `session.history.sync` entries of 500 messages
 * already on the `domain-events` stream → the consumer role (its production settings, inline on
 * this thread) → rows in session_messages. Baseline: `COPY FROM STDIN` of the same rows into the
 * same table, the fastest way Postgres takes rows, in the same run.
 */
export default async function consumerBench(): Promise<BenchResult[]> {
	const testDb = await createTestDatabase()
	const rig = await openEventRig(testDb.url)
	try {
		const { database } = rig
		const consumed = await createSession(database.db, 'consumed')
		const copied = await createSession(database.db, 'copied')
		const batches = await publishHistory(rig, consumed, MESSAGES)

		// COPY goes first, into the empty table; the consumer then writes into a table that already
		// holds those rows, which if anything handicaps it.
		const copySeconds = await copy(database.sql!, copied.sessionId, batches)
		const [{ n } = { n: 0 }] = await database.db
			.select({ n: sql<number>`count(*)::int` })
			.from(sessionMessages)
			.where(eq(sessionMessages.sessionId, copied.sessionId))
		if (n !== MESSAGES) throw new Error(`COPY wrote ${n} rows`)

		const consumerSeconds = await consumeHistory(rig, consumed.sessionId, MESSAGES)
		const copyRate = MESSAGES / copySeconds
		return [
			{
				name: `consumer: history sync, ${MESSAGES / 1000}k msgs stream → Postgres`,
				value: MESSAGES / consumerSeconds,
				unit: 'msgs/s',
				baseline: copyRate,
				baselineName: 'COPY',
				higherIsBetter: true,
			},
			{ name: `COPY FROM STDIN, same ${MESSAGES / 1000}k rows`, value: copyRate, unit: 'rows/s', higherIsBetter: true },
		]
	} finally {
		await rig.close()
		await testDb.drop()
	}
}

function copy(sql: NonNullable<ReturnType<typeof openPostgres>['sql']>, sessionId: string, batches: DomainEvent[]): Promise<number> {
	function* lines() {
		for (const batch of batches) {
			if (batch.type !== 'session.history.sync') continue
			for (const m of batch.data.messages) {
				const row = [
					sessionId,
					m.key.remoteJid,
					m.key.id,
					m.key.fromMe ? 't' : 'f',
					m.key.fromMe ? undefined : m.key.remoteJid,
					new Date(m.timestamp * 1000).toISOString(),
					m.type,
					m.text,
					m.status,
					m.pushName,
					m.content,
				]
				yield `${row.map(copyValue).join('\t')}\n`
			}
		}
	}
	return copyMessages(sql, lines())
}
