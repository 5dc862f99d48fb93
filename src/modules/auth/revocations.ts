import type { RedisClient } from '../../lib/redis-client'
import { createBroadcast } from '../../lib/broadcast'
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

/** "Tokens revoked" notices, heard by every API instance at once (see Broadcast). */
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

/** On the Redis pub/sub channel `auth:tokens-revoked` under `REDIS_PREFIX`; in process only without Redis. */
export function createTokenRevocations({ redis, prefix, logger }: { redis: RedisClient | null; prefix: string; logger: Logger }): TokenRevocations {
	const broadcast = createBroadcast<TokensRevoked>({ redis, channel: `${prefix}auth:tokens-revoked`, name: 'auth-revocations', logger })
	return {
		onTokensRevoked: (listener) => broadcast.on(listener),
		onResync: (listener) => broadcast.onResync(listener),
		isLive: () => broadcast.isLive(),
		publish: (event) => broadcast.publish(event),
		close: () => broadcast.close(),
	}
}
