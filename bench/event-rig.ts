import type { RedisClient } from '../src/lib/redis-client'
import pino from 'pino'
import type { Bus } from '../src/bus/bus'
import { createRedisBus } from '../src/bus/redis-bus'
import { type Config, loadConfig } from '../src/config'
import type { DomainEvent } from '../src/core/catalogue'
import { type Database, openPostgres } from '../src/db/client'
import { closeRedis, openRedis } from '../src/redis/connection'
import { start as startConsumer } from '../src/roles/consumer'
import type { RoleHandle } from '../src/roles/types'
import { countMessages, historyBatches, type Meta } from '../test/events/fixtures'
import { createTestRedisPrefix, REDIS_TEST_URL } from '../test/helpers/redis'

/**
 * A database and an event bus of its own (a Redis key prefix) with the consumer role as
 * production runs it: what the benchmarks that go through `domain-events` share.
 */
export interface EventRig {
	config: Config
	database: Database
	redis: RedisClient
	bus: Bus
	/** Starts the consumer role (inline, its production settings unless the environment tunes them). */
	startConsumer(): Promise<RoleHandle>
	close(): Promise<void>
}

export async function openEventRig(databaseUrl: string): Promise<EventRig> {
	const logger = pino({ level: 'warn' })
	const keys = createTestRedisPrefix()
	const config = loadConfig({
		NODE_ENV: 'test',
		DATABASE_URL: databaseUrl,
		REDIS_URL: REDIS_TEST_URL,
		REDIS_PREFIX: keys.prefix,
		LOG_LEVEL: 'warn',
		CONSUMER_CONCURRENCY: process.env.CONSUMER_CONCURRENCY,
		CONSUMER_BATCH_SIZE: process.env.CONSUMER_BATCH_SIZE,
	})
	const database = openPostgres({ url: databaseUrl, max: config.events.consumerConcurrency + 2 })
	const redis = openRedis(REDIS_TEST_URL, logger, 'bench')
	const bus = createRedisBus({ redis, prefix: keys.prefix, partitions: config.events.commandPartitions, logger })
	return {
		config,
		database,
		redis,
		bus,
		startConsumer: () => startConsumer({ config, logger, database, bus, redis }),
		async close() {
			await bus.close()
			await closeRedis(redis)
			await database.close()
			await keys.cleanup()
		},
	}
}

/** `messages` history messages of `meta`'s session as `session.history.sync` entries of 500, on the rig's stream. */
export async function publishHistory(rig: EventRig, meta: Meta, messages: number): Promise<DomainEvent[]> {
	const batches = historyBatches(meta, messages, { chats: 500 }) as DomainEvent[]
	for (let i = 0; i < batches.length; i += 20) await rig.bus.publish(batches.slice(i, i + 20))
	return batches
}

/** Starts the consumer, waits until the session holds `messages` rows, stops it: the seconds it took. */
export async function consumeHistory(rig: EventRig, sessionId: string, messages: number): Promise<number> {
	const started = performance.now()
	const consumer = await rig.startConsumer()
	while ((await countMessages(rig.database.db, sessionId)) < messages) await Bun.sleep(25)
	const seconds = (performance.now() - started) / 1000
	await consumer.stop()
	return seconds
}
