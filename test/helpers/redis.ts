import Redis from 'ioredis'

export const REDIS_TEST_URL = process.env.TEST_REDIS_URL ?? 'redis://127.0.0.1:6379'

/** A key prefix no other test file uses; everything under it is deleted by `cleanup`. */
export function createTestRedisPrefix() {
	const prefix = `sbtest:${Date.now()}:${Math.random().toString(36).slice(2, 10)}:`
	return {
		prefix,
		async cleanup() {
			const redis = new Redis(REDIS_TEST_URL, { maxRetriesPerRequest: 1 })
			try {
				let cursor = '0'
				do {
					const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 500)
					cursor = next
					if (keys.length) await redis.del(...keys)
				} while (cursor !== '0')
			} finally {
				redis.disconnect()
			}
		},
	}
}
