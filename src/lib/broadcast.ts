import { duplicateRedis, type RedisClient } from './redis-client'
import type { Logger } from '../logger'

/**
 * A notice every API instance must hear (a key revoked): listeners in this process hear it at once,
 * other processes through a Redis pub/sub channel. Without Redis there is one instance (embedded
 * mode), so the in-process delivery is all there is.
 */
export interface Broadcast<T> {
	/** Subscribes; returns the unsubscribe function. Listeners must be cheap and idempotent. */
	on(listener: (message: T) => void): () => void
	/** Called when notices from other instances may have been missed (the subscriber reconnected). */
	onResync(listener: () => void): () => void
	/** False while notices from other instances could be missed (the subscriber is not connected). */
	isLive(): boolean
	publish(message: T): Promise<void>
	close(): Promise<void>
}

export function createBroadcast<T extends object>({
	redis,
	channel,
	name,
	logger,
}: {
	redis: RedisClient | null
	/** The full channel name, `REDIS_PREFIX` included. */
	channel: string
	/** The subscriber connection's name in Redis (CLIENT LIST). */
	name: string
	logger: Logger
}): Broadcast<T> {
	const listeners = new Set<(message: T) => void>()
	const resyncListeners = new Set<() => void>()
	const origin = Bun.randomUUIDv7()

	const deliver = (message: T) => {
		for (const listener of listeners) {
			try {
				listener(message)
			} catch (err) {
				logger.error({ err, channel }, 'broadcast listener failed')
			}
		}
	}

	let subscriber: RedisClient | null = null
	let live = !redis
	if (redis) {
		subscriber = duplicateRedis(redis, { connectionName: `switchboard:${name}`, autoResubscribe: false })
		const sub = subscriber
		sub.on('error', () => {}) // the main connection already reports Redis outages
		sub.on('close', () => {
			live = false
		})
		// Subscribing on every (re)connect and going live only once Redis acknowledged it leaves no
		// window in which a cache could outlive a notice we did not hear. Whatever was published while
		// we were away is lost, so caches drop everything (resync).
		sub.on('ready', () => {
			sub
				.subscribe(channel)
				.then(() => {
					live = true
					for (const listener of resyncListeners) listener()
				})
				.catch((err) => logger.error({ err, channel }, 'cannot subscribe to a broadcast channel'))
		})
		sub.on('message', (ch: string, raw: string) => {
			if (ch !== channel) return
			try {
				// The message's own fields beside `origin` (which instance sent it, so it skips its own).
				const { origin: from, ...message } = JSON.parse(raw) as T & { origin: string }
				if (from !== origin) deliver(message as unknown as T)
			} catch (err) {
				logger.warn({ err, channel }, 'ignoring a malformed broadcast message')
			}
		})
	}

	return {
		on(listener) {
			listeners.add(listener)
			return () => listeners.delete(listener)
		},
		onResync(listener) {
			resyncListeners.add(listener)
			return () => resyncListeners.delete(listener)
		},
		isLive: () => live,
		async publish(message) {
			deliver(message)
			if (!redis) return
			try {
				await redis.publish(channel, JSON.stringify({ ...message, origin }))
			} catch (err) {
				// Other instances then see the change on their next cache miss (bounded by their cache TTL).
				logger.error({ err, channel }, 'cannot publish a broadcast')
			}
		},
		async close() {
			listeners.clear()
			resyncListeners.clear()
			subscriber?.disconnect()
		},
	}
}
