import type { RedisClient } from '../lib/redis-client'
import type { Config } from '../config'
import type { Db } from '../db/client'
import { tenants } from '../db/schema'
import type { Logger } from '../logger'
import type { Bus } from './bus'
import { createMemoryBus } from './memory-bus'
import { createRedisBus } from './redis-bus'

export * from './bus'
export { enqueue } from './outbox'
export { createRelay, type Relay } from './relay'

/**
 * Redis Streams when there is a Redis connection, the in-process bus otherwise (embedded mode).
 * `earlierEventsLost`: the in-process streams start without events an earlier process published.
 */
export function createBus(config: Config, logger: Logger, redis: RedisClient | null, earlierEventsLost = false): Bus {
	const { commandPartitions: partitions, streamRetentionMs: retentionMs, streamMaxLen: maxLen } = config.events
	if (redis) return createRedisBus({ redis, prefix: config.redisPrefix, partitions, logger, retentionMs, maxLen, replication: config.redisWait })
	return createMemoryBus({ partitions, logger, retentionMs, maxLen, earlierEventsLost })
}

/**
 * Whether an earlier process may have published events on this database, which an in-process
 * stream no longer holds: every event belongs to a tenant, so a database without one had none.
 */
export async function earlierEventsLost(db: Db): Promise<boolean> {
	const [tenant] = await db.select({ id: tenants.id }).from(tenants).limit(1)
	return tenant !== undefined
}
export { createRequester, isExpired, NoAnswerError, type Query, QueryFailedError, reply, type Requester } from './requests'
