import { duplicateRedis, type RedisClient } from '../lib/redis-client'

/**
 * The bus's side channel on Redis pub/sub (`notify` / `listen`). Channels carry the key prefix, so
 * deployments sharing a Redis never hear each other. Subscriptions share one connection of their
 * own, opened on the first `listen` (a subscribed connection can run nothing else); ioredis
 * subscribes again by itself after a reconnect, and what was published meanwhile is lost, as the
 * channel promises.
 */
export function createRedisChannels(redis: RedisClient, prefix: string) {
	const listeners = new Map<string, Set<(payload: string) => void>>()
	let subscriber: RedisClient | null = null

	function connection(): RedisClient {
		if (subscriber) return subscriber
		const conn = duplicateRedis(redis, { connectionName: 'switchboard:channels' })
		conn.on('error', () => {})
		conn.on('message', (channel: string, payload: string) => {
			for (const listener of listeners.get(channel.slice(prefix.length)) ?? []) listener(payload)
		})
		subscriber = conn
		return conn
	}

	return {
		async notify(channel: string, payload: string): Promise<void> {
			await redis.publish(prefix + channel, payload)
		},

		async listen(channel: string, onMessage: (payload: string) => void): Promise<() => Promise<void>> {
			const conn = connection()
			let set = listeners.get(channel)
			if (!set) listeners.set(channel, (set = new Set()))
			const listener = (payload: string) => onMessage(payload)
			set.add(listener)
			await conn.subscribe(prefix + channel)
			return async () => {
				set.delete(listener)
				if (set.size || listeners.get(channel) !== set) return
				listeners.delete(channel)
				await conn.unsubscribe(prefix + channel).catch(() => {})
			}
		},

		close(): void {
			listeners.clear()
			subscriber?.disconnect()
			subscriber = null
		},
	}
}
