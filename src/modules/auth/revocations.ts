import type Redis from 'ioredis'
import type { Logger } from '../../logger'

/** A user's token version moved: every access token and WebSocket of that user must die. */
export interface TokensRevoked {
	userId: string
	tenantId: string
	/** The new version; tokens carrying an older one are refused. */
	tokenVersion: number
	reason: 'logout-all' | 'password-reset'
}

export type TokensRevokedListener = (event: TokensRevoked) => void

/**
 * Fans "tokens revoked" out to every API instance: listeners in this process hear it at once,
 * other processes through a Redis pub/sub channel under `REDIS_PREFIX`. Without Redis there is
 * one instance (embedded mode), so the in-process delivery is all there is.
 */
export interface TokenRevocations {
	/** Subscribes; returns the unsubscribe function. Listeners must be cheap and idempotent. */
	onTokensRevoked(listener: TokensRevokedListener): () => void
	/** Called when deliveries from other instances may have been missed (subscriber reconnected). */
	onResync(listener: () => void): () => void
	/** False while revocations from other instances could be missed (subscriber not connected). */
	isLive(): boolean
	publish(event: TokensRevoked): Promise<void>
	close(): Promise<void>
}

export function createTokenRevocations({ redis, prefix, logger }: { redis: Redis | null; prefix: string; logger: Logger }): TokenRevocations {
	const listeners = new Set<TokensRevokedListener>()
	const resyncListeners = new Set<() => void>()
	const origin = Bun.randomUUIDv7()
	const channel = `${prefix}auth:tokens-revoked`

	const deliver = (event: TokensRevoked) => {
		for (const listener of listeners) {
			try {
				listener(event)
			} catch (err) {
				logger.error({ err }, 'tokens-revoked listener failed')
			}
		}
	}

	let subscriber: Redis | null = null
	let live = !redis
	if (redis) {
		subscriber = redis.duplicate({ connectionName: 'switchboard:auth-revocations', autoResubscribe: false })
		const sub = subscriber
		sub.on('error', () => {}) // the main connection already reports Redis outages
		sub.on('close', () => {
			live = false
		})
		// Subscribing on every (re)connect and going live only once Redis acknowledged it leaves no
		// window in which a cached version could outlive a revocation we did not hear. Whatever was
		// published while we were away is lost, so caches drop everything (resync).
		sub.on('ready', () => {
			sub
				.subscribe(channel)
				.then(() => {
					live = true
					for (const listener of resyncListeners) listener()
				})
				.catch((err) => logger.error({ err }, 'cannot subscribe to token revocations'))
		})
		subscriber.on('message', (ch: string, raw: string) => {
			if (ch !== channel) return
			try {
				const { origin: from, ...event } = JSON.parse(raw) as TokensRevoked & { origin: string }
				if (from !== origin) deliver(event)
			} catch (err) {
				logger.warn({ err }, 'ignoring a malformed token revocation message')
			}
		})
	}

	return {
		onTokensRevoked(listener) {
			listeners.add(listener)
			return () => listeners.delete(listener)
		},
		onResync(listener) {
			resyncListeners.add(listener)
			return () => resyncListeners.delete(listener)
		},
		isLive: () => live,
		async publish(event) {
			deliver(event)
			if (!redis) return
			try {
				await redis.publish(channel, JSON.stringify({ ...event, origin }))
			} catch (err) {
				// Other instances then see the new version on their next cache miss (bounded by the cache TTL).
				logger.error({ err, userId: event.userId }, 'cannot publish a token revocation')
			}
		},
		async close() {
			listeners.clear()
			resyncListeners.clear()
			subscriber?.disconnect()
		},
	}
}
