import { eq, sql } from 'drizzle-orm'
import type { DomainEvent } from '../src/core/catalogue'
import type { openPostgres } from '../src/db/client'
import { sessionMessages } from '../src/db/schema'
import { createSession } from '../test/events/fixtures'
import { createTestDatabase } from '../test/helpers/database'
import { consumeHistory, openEventRig, publishHistory } from './event-rig'
import type { BenchResult } from './run'

const MESSAGES = Number(process.env.BENCH_MESSAGES ?? 100_000)

/** COPY text format: tab-separated, `\N` for null, backslash escapes. */
const copyText = (v: string) => v.replace(/\\/g, '\\\\').replace(/\t/g, '\\t').replace(/\n/g, '\\n').replace(/\r/g, '\\r')
const copyValue = (v: unknown) => (v === undefined || v === null ? '\\N' : copyText(typeof v === 'string' ? v : JSON.stringify(v)))

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

async function copy(sql: NonNullable<ReturnType<typeof openPostgres>['sql']>, sessionId: string, batches: DomainEvent[]): Promise<number> {
	const started = performance.now()
	const writable =
		await sql`copy session_messages (session_id, chat_jid, message_id, from_me, sender_jid, timestamp, type, text, status, push_name, content) from stdin`.writable()
	let chunk = ''
	const flush = async () => {
		if (!writable.write(chunk)) await new Promise((resolve) => writable.once('drain', resolve))
		chunk = ''
	}
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
			chunk += `${row.map(copyValue).join('\t')}\n`
			if (chunk.length > 1 << 16) await flush()
		}
	}
	await flush()
	await new Promise<void>((resolve, reject) => {
		writable.on('finish', resolve)
		writable.on('error', reject)
		writable.end()
	})
	return (performance.now() - started) / 1000
}
