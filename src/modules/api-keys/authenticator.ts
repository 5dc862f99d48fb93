import { eq } from 'drizzle-orm'
import { LRUCache } from 'lru-cache'
import { UnauthenticatedError } from '../../core/errors'
import { API_KEY_PREFIX, type Scope } from '../../core/scopes'
import { schema, type Db } from '../../db/client'
import type { Broadcast } from '../../lib/broadcast'
import type { Limit } from '../../lib/rate-limits'
import type { AuthUser, Authenticator } from '../../plugins/auth'
import type { TokensRevokedListener } from '../auth/revocations'
import { apiKeyPrefix, hashApiKey, isWellFormedApiKey } from './secrets'
import type { UsageRecorder } from './usage'

const { apiKeys } = schema

/** An API key was revoked: every instance forgets it and closes the WebSockets it opened. */
export interface ApiKeyRevoked {
	keyId: string
	tenantId: string
}

type KeyOfTenant = Extract<AuthUser, { kind: 'apiKey' }>

/**
 * How long a key looked up stays trusted without asking the database again. Revocations through
 * the API reach every instance at once (the broadcast), so this only bounds what bypasses it: a
 * key deleted in the database by hand, or with its tenant.
 */
const CACHE_TTL_MS = 60_000
/** Revoked ids remembered at least as long as a lookup could have been cached. */
const REVOKED_TTL_MS = CACHE_TTL_MS * 2

// One message whatever went wrong: the caller learns nothing from it. The log gets the reason.
const invalidKey = (cause: 'malformed' | 'unknown' | 'revoked', key: string) =>
	new UnauthenticatedError('INVALID_API_KEY', 'API key is invalid or revoked', undefined, {
		cause,
		...(cause === 'malformed' ? {} : { keyPrefix: apiKeyPrefix(key) }),
	})

/**
 * Checks API keys: by the SHA-256 of the key, through a cache kept exact by revocation notices
 * (bypassed while notices could be missed), then counts the request against the key's rate limit
 * and notes its use.
 */
export class ApiKeyAuthenticator implements Authenticator {
	private readonly cache = new LRUCache<string, KeyOfTenant>({ max: 10_000, ttl: CACHE_TTL_MS })
	private readonly revoked = new LRUCache<string, true>({ max: 10_000, ttl: REVOKED_TTL_MS })

	constructor(
		private readonly deps: {
			db: Db
			revocations: Broadcast<ApiKeyRevoked>
			limit: Limit
			usage: UsageRecorder
		},
	) {
		deps.revocations.on(({ keyId }) => this.forget(keyId))
		deps.revocations.onResync(() => this.cache.clear())
	}

	onApiKeyRevoked(listener: (event: ApiKeyRevoked) => void): () => void {
		return this.deps.revocations.on(listener)
	}

	async authenticate(key: string | undefined): Promise<AuthUser> {
		if (!key || !isWellFormedApiKey(key)) throw invalidKey('malformed', key ?? '')
		const hash = hashApiKey(key)
		const caller = (this.deps.revocations.isLive() && this.cache.get(hash)) || (await this.load(hash, key))
		await this.deps.limit.consume(caller.id)
		// A revocation heard while the limit was counted wins: from here to the caller (a WebSocket
		// arming its revocation listener) only microtasks run, so no later notice can slip between.
		if (this.revoked.has(caller.id)) throw invalidKey('revoked', key)
		this.deps.usage.record(caller.id)
		return caller
	}

	private async load(hash: string, key: string): Promise<KeyOfTenant> {
		const [row] = await this.deps.db
			.select({ id: apiKeys.id, tenantId: apiKeys.tenantId, scopes: apiKeys.scopes, revokedAt: apiKeys.revokedAt })
			.from(apiKeys)
			.where(eq(apiKeys.keyHash, hash))
		if (!row) throw invalidKey('unknown', key)
		// A notice heard while the row was on its way wins over what the row says.
		if (row.revokedAt || this.revoked.has(row.id)) throw invalidKey('revoked', key)
		const caller: KeyOfTenant = { kind: 'apiKey', id: row.id, tenantId: row.tenantId, scopes: row.scopes as Scope[] }
		if (this.deps.revocations.isLive()) this.cache.set(hash, caller)
		return caller
	}

	private forget(keyId: string) {
		this.revoked.set(keyId, true)
		for (const [hash, caller] of this.cache.entries()) if (caller.id === keyId) this.cache.delete(hash)
	}
}

/**
 * Every caller the API accepts: a user's access token, or an API key (told apart by the key's
 * `sbk_` prefix), and the notices that end what either opened (the WebSocket listens to both).
 * Both are rate-limited: a key by its own limit (checked by `keys`), a user by `userLimit` (but
 * for the few routes marked `uncounted`, see AuthOption), so no credential makes requests without bound.
 */
export function callerAuthenticator(
	tokens: Authenticator & {
		onTokensRevoked(listener: TokensRevokedListener): () => void
		onUserRemoved(listener: (userId: string) => void): () => void
	},
	keys: ApiKeyAuthenticator,
	userLimit: Limit,
) {
	return {
		async authenticate(credential: string | undefined, { uncounted = false }: { uncounted?: boolean } = {}): Promise<AuthUser> {
			if (credential?.startsWith(API_KEY_PREFIX)) return keys.authenticate(credential)
			const user = await tokens.authenticate(credential)
			if (!uncounted) await userLimit.consume(user.id)
			return user
		},
		onTokensRevoked: (listener: TokensRevokedListener) => tokens.onTokensRevoked(listener),
		onUserRemoved: (listener: (userId: string) => void) => tokens.onUserRemoved(listener),
		onApiKeyRevoked: (listener: (event: ApiKeyRevoked) => void) => keys.onApiKeyRevoked(listener),
	}
}

export type Callers = ReturnType<typeof callerAuthenticator>
