import { jwt } from '@elysiajs/jwt'
import { t } from 'elysia'
import { LRUCache } from 'lru-cache'
import type { Clock } from '../../lib/clock'

const ISSUER = 'switchboard'
const AUDIENCE = 'switchboard-api'
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i

export interface AccessClaims {
	/** user id */
	sub: string
	/** tenant id */
	tid: string
	/** the user's token version when the token was issued */
	ver: number
}

/**
 * Short-lived HS256 access tokens through `@elysiajs/jwt`, used here as a signer rather than a
 * context decorator so the auth service (and the WebSocket hub) can issue and check tokens
 * without an HTTP context.
 */
export function createAccessTokens({ secret, ttlSeconds, clock }: { secret: string; ttlSeconds: number; clock: Clock }) {
	const { accessToken } = jwt({
		name: 'accessToken',
		secret,
		alg: 'HS256',
		iss: ISSUER,
		aud: AUDIENCE,
		schema: t.Object({ sub: t.String(), tid: t.String(), ver: t.Integer({ minimum: 0 }) }),
	}).decorator

	// Verified tokens by their exact text: the same string always carries the same claims, so
	// only the expiry needs checking again. Spares the signature check and parsing on every
	// request of a client that reuses its token; bounded, least recently used dropped first.
	const verified = new LRUCache<string, AccessClaims & { exp: number }>({ max: 10_000 })
	const nowSeconds = () => clock.now().getTime() / 1000

	return {
		ttlSeconds,
		sign(claims: AccessClaims): Promise<string> {
			return accessToken.sign({ ...claims, exp: Math.floor(clock.now().getTime() / 1000) + ttlSeconds })
		},
		/** The claims of a valid, unexpired token of ours; null for anything else. */
		async verify(token: string): Promise<AccessClaims | null> {
			const known = verified.get(token)
			if (known) {
				if (known.exp > nowSeconds()) return { sub: known.sub, tid: known.tid, ver: known.ver }
				verified.delete(token)
				return null
			}
			// Pinning the algorithm refuses `alg: none` and key-confusion tricks; issuer and audience
			// keep tokens minted for another purpose with the same secret out.
			const claims = await accessToken.verify(token, {
				algorithms: ['HS256'],
				issuer: ISSUER,
				audience: AUDIENCE,
				currentDate: clock.now(),
			})
			if (!claims || typeof claims.exp !== 'number') return null
			// A token signed with our secret but naming no uuid (a leaked secret, another system
			// sharing it) ends here, before its subject reaches a uuid column.
			if (!UUID.test(claims.sub) || !UUID.test(claims.tid) || !Number.isInteger(claims.ver)) return null
			verified.set(token, { sub: claims.sub, tid: claims.tid, ver: claims.ver, exp: claims.exp })
			return { sub: claims.sub, tid: claims.tid, ver: claims.ver }
		},
	}
}

export type AccessTokens = ReturnType<typeof createAccessTokens>
