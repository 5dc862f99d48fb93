import pino from 'pino'
import type Redis from 'ioredis'
import { isCluster, type RedisClient } from '../../src/lib/redis-client'
import { closeRedis, openRedis } from '../../src/redis/connection'

/**
 * The Redis the tests use: a single server, or a cluster (`redis+cluster://…`, as the files of
 * test/cluster/ set it for the suites they run there).
 */
export const REDIS_TEST_URL = process.env.TEST_REDIS_URL ?? 'redis://127.0.0.1:6379'

/** Once connected: the nodes that hold keys (every master of a cluster, or the one server). */
async function dataNodes(redis: RedisClient): Promise<Redis[]> {
	await redis.ping()
	return isCluster(redis) ? redis.nodes('master') : [redis]
}

/** Every key matching `pattern`, from every node that holds keys. */
export async function scanKeys(redis: RedisClient, pattern: string): Promise<string[]> {
	const found: string[] = []
	for (const node of await dataNodes(redis)) {
		let cursor = '0'
		do {
			const [next, keys] = await node.scan(cursor, 'MATCH', pattern, 'COUNT', 500)
			cursor = next
			found.push(...keys)
		} while (cursor !== '0')
	}
	return found
}

/** The connections every node that holds keys reports (`CLIENT LIST`), one line each. */
export async function clientList(redis: RedisClient): Promise<string[]> {
	const lists = await Promise.all((await dataNodes(redis)).map((node) => node.client('LIST') as Promise<string>))
	return lists.flatMap((list) => list.split('\n'))
}

/** A key prefix no other test file uses; everything under it is deleted by `cleanup`. */
export function createTestRedisPrefix() {
	const prefix = `sbtest:${Date.now()}:${Math.random().toString(36).slice(2, 10)}:`
	return {
		prefix,
		async cleanup() {
			const redis = openRedis(REDIS_TEST_URL, pino({ level: 'silent' }), 'test-cleanup')
			try {
				// Keys that must share a slot with a stream start with its hash tag: `{<prefix>domain-events}:dead`.
				const keys = [...(await scanKeys(redis, `${prefix}*`)), ...(await scanKeys(redis, `{${prefix}*`))]
				// One key a command: a cluster refuses a DEL of keys in different slots.
				if (keys.length) await Promise.all(keys.map((key) => redis.unlink(key)))
			} finally {
				await closeRedis(redis)
			}
		},
	}
}
