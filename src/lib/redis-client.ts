import type Redis from 'ioredis'
import { Cluster, type RedisOptions } from 'ioredis'

/** A single Redis or a Redis Cluster (`REDIS_URL=redis+cluster://…`): everything Switchboard sends works on both. */
export type RedisClient = Redis | Cluster

export const isCluster = (redis: RedisClient): redis is Cluster => redis instanceof Cluster

/**
 * Another connection like `redis` (to the same server or cluster), with these options on top: a
 * blocking read or a subscription needs a connection of its own.
 */
export function duplicateRedis(redis: RedisClient, options: Partial<RedisOptions> & { connectionName: string }): RedisClient {
	if (!isCluster(redis)) return redis.duplicate(options)
	// A cluster's per-node options are its redisOptions; its own options carry over.
	return redis.duplicate([], { redisOptions: { ...redis.options.redisOptions, ...options } })
}
