import { eq, sql } from 'drizzle-orm'
import pino from 'pino'
import { openPostgres } from '../src/db/client'
import { sessionMessages } from '../src/db/schema'
import type { DomainEvent } from '../src/core/catalogue'
import { createRedisBus } from '../src/bus/redis-bus'
import { loadConfig } from '../src/config'
import { closeRedis, openRedis } from '../src/redis/connection'
import { start as startConsumer } from '../src/roles/consumer'
import { countMessages, createSession, historyBatches } from '../test/events/fixtures'
import { createTestDatabase } from '../test/helpers/database'
import { createTestRedisPrefix, REDIS_TEST_URL } from '../test/helpers/redis'
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
	const logger = pino({ level: 'warn' })
	const testDb = await createTestDatabase()
	const keys = createTestRedisPrefix()
	const config = loadConfig({
		NODE_ENV: 'test',
		DATABASE_URL: testDb.url,
		REDIS_URL: REDIS_TEST_URL,
		REDIS_PREFIX: keys.prefix,
		LOG_LEVEL: 'warn',
		// The production defaults unless the environment tunes them.
		CONSUMER_CONCURRENCY: process.env.CONSUMER_CONCURRENCY,
		CONSUMER_BATCH_SIZE: process.env.CONSUMER_BATCH_SIZE,
	})
	const database = openPostgres({ url: testDb.url, max: config.events.consumerConcurrency + 2 })
	const redis = openRedis(REDIS_TEST_URL, logger, 'bench')
	const bus = createRedisBus({ redis, prefix: keys.prefix, partitions: config.events.commandPartitions, logger })
	try {
		const consumed = await createSession(database.db, 'consumed')
		const copied = await createSession(database.db, 'copied')
		const batches = historyBatches(consumed, MESSAGES, { chats: 500 }) as DomainEvent[]
		for (let i = 0; i < batches.length; i += 20) await bus.publish(batches.slice(i, i + 20))

		// COPY goes first, into the empty table; the consumer then writes into a table that already
		// holds those rows, which if anything handicaps it.
		const copySeconds = await copy(database.sql!, copied.sessionId, batches)
		const [{ n } = { n: 0 }] = await database.db
			.select({ n: sql<number>`count(*)::int` })
			.from(sessionMessages)
			.where(eq(sessionMessages.sessionId, copied.sessionId))
		if (n !== MESSAGES) throw new Error(`COPY wrote ${n} rows`)

		const started = performance.now()
		const consumer = await startConsumer({ config, logger, database, bus, redis })
		while ((await countMessages(database.db, consumed.sessionId)) < MESSAGES) await Bun.sleep(25)
		const consumerSeconds = (performance.now() - started) / 1000
		await consumer.stop()

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
		await bus.close()
		await closeRedis(redis)
		await database.close()
		await testDb.drop()
		await keys.cleanup()
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
