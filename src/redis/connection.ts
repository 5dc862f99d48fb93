import Redis from 'ioredis'
import { withTimeout } from '../lib/timeout'
import type { Logger } from '../logger'

/**
 * A Redis connection that never waits forever: commands fail fast while Redis is away instead of
 * piling up in ioredis' offline queue, and reconnects back off up to 2 s.
 */
export function openRedis(url: string, logger: Logger, name = 'main'): Redis {
	const redis = new Redis(url, {
		connectionName: `switchboard:${name}`,
		lazyConnect: false,
		maxRetriesPerRequest: 2,
		enableOfflineQueue: true,
		connectTimeout: 2_000,
		retryStrategy: (attempt) => Math.min(attempt * 100, 2_000),
	})
	let down = false
	redis.on('error', (err) => {
		if (!down) logger.warn({ err: err.message, connection: name }, 'redis connection error')
		down = true
	})
	redis.on('ready', () => {
		if (down) logger.info({ connection: name }, 'redis connection restored')
		down = false
	})
	return redis
}

/** Closes politely, falling back to a hard disconnect if Redis does not answer. */
export async function closeRedis(redis: Redis): Promise<void> {
	if (redis.status === 'end') return
	try {
		// withTimeout clears its timer: a pending sleep would keep a worker thread alive for a second.
		await withTimeout(redis.quit(), 1_000, 'redis quit')
	} catch {
		redis.disconnect()
	}
}
