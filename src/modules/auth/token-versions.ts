import { LRUCache } from 'lru-cache'
import type { TokenRevocations } from './revocations'

/** How long a cached version may be trusted; bounds the damage of a lost revocation notice. */
const TTL_MS = 15_000
const MAX_ENTRIES = 50_000

/** What an access token is checked against: the user's current token version, and their tenant. */
export interface TokenHolder {
	version: number
	/** A user never changes tenant; a token naming another one was not issued by us. */
	tenantId: string
}

export interface TokenVersionCache {
	/** The user's current token version and tenant; null when the user no longer exists. */
	get(userId: string): Promise<TokenHolder | null>
	/** Forgets a user at once (removed from the database). */
	forget(userId: string): void
	/** Forgets everyone: notices may have been missed. */
	clear(): void
}

/**
 * Spares every authenticated request a users lookup. Exact, not merely eventually right:
 * revocations (local at once, other instances through Redis pub/sub) raise the cached version
 * before anyone can use the old one; versions only grow, so merging by max makes a slow read
 * racing a revocation harmless; users removed from the database are forgotten as PostgreSQL
 * announces them; and while notices of either kind could be missed (a subscriber down,
 * `followsNotices` false) the cache is bypassed and dropped when they flow again.
 */
export function createTokenVersionCache({
	revocations,
	load,
	followsNotices,
}: {
	revocations: TokenRevocations
	load: (userId: string) => Promise<TokenHolder | null>
	/** True while removal notices from PostgreSQL arrive. */
	followsNotices: () => boolean
}): TokenVersionCache {
	const entries = new LRUCache<string, TokenHolder>({ max: MAX_ENTRIES, ttl: TTL_MS })

	// An expired entry still raises the version: a notice may have arrived while a read was slow.
	const put = (userId: string, { version, tenantId }: TokenHolder) =>
		entries.set(userId, { version: Math.max(version, entries.peek(userId, { allowStale: true })?.version ?? 0), tenantId })

	revocations.onTokensRevoked(({ userId, tenantId, tokenVersion }) => put(userId, { version: tokenVersion, tenantId }))
	revocations.onResync(() => entries.clear())

	return {
		forget: (userId) => void entries.delete(userId),
		clear: () => entries.clear(),
		async get(userId) {
			if (!revocations.isLive() || !followsNotices()) return load(userId)
			const hit = entries.get(userId)
			if (hit !== undefined) return hit
			const holder = await load(userId)
			if (holder === null) return null
			put(userId, holder)
			return entries.peek(userId, { allowStale: true })!
		},
	}
}
