import type { RedisClient } from '../lib/redis-client'
import type { Config } from '../config'
import type { Logger } from '../logger'
import type { Bus } from './bus'
import { createMemoryBus } from './memory-bus'
import { createRedisBus } from './redis-bus'

export * from './bus'
export { enqueue } from './outbox'
export { createRelay, type Relay } from './relay'

/** Redis Streams when there is a Redis connection, the in-process bus otherwise (embedded mode). */
export function createBus(config: Config, logger: Logger, redis: RedisClient | null): Bus {
	const { commandPartitions: partitions, streamRetentionMs: retentionMs, streamMaxLen: maxLen } = config.events
	if (redis) return createRedisBus({ redis, prefix: config.redisPrefix, partitions, logger, retentionMs, maxLen, replication: config.redisWait })
	return createMemoryBus({ partitions, logger, retentionMs, maxLen })
}
export { createRequester, isExpired, NoAnswerError, type Query, QueryFailedError, reply, type Requester } from './requests'
