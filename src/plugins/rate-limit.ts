import { Elysia } from 'elysia'
import { accountKey, type Limit, type RateLimits } from '../lib/rate-limits'

/**
 * The client address: the socket peer, or with `TRUST_PROXY_HOPS=n` the n-th address from the
 * right of X-Forwarded-For (each trusted proxy appends the peer it saw). Entries further left are
 * written by the client and never trusted.
 */
function clientIp(request: Request, server: { requestIP(r: Request): { address: string } | null } | null, hops: number): string {
	if (hops > 0) {
		const forwarded = request.headers.get('x-forwarded-for')
		if (forwarded) {
			const chain = forwarded.split(',').map((s) => s.trim()).filter(Boolean)
			const ip = chain[Math.max(0, chain.length - hops)]
			if (ip) return ip
		}
	}
	return server?.requestIP(request)?.address ?? 'unknown'
}

/** Which limits a route spends: per client address, and per account (the body's `email`). */
const BUCKETS = {
	login: (l: RateLimits) => ({ ip: l.loginPerIp }),
	signup: (l: RateLimits) => ({ ip: l.signupPerIp }),
	mail: (l: RateLimits) => ({ ip: l.mailPerIp, account: l.mailPerAccount }),
} satisfies Record<string, (l: RateLimits) => { ip: Limit; account?: Limit }>

export type RateLimitBucket = keyof typeof BUCKETS

/**
 * The `rateLimit` macro: `{ rateLimit: 'mail' }` on a route counts the request against the
 * bucket's limits before the handler runs, and answers 429 RATE_LIMITED with Retry-After once one
 * is spent. It runs after validation, so the account key comes from a well-formed body.
 */
export const rateLimitPlugin = (limits: RateLimits, trustProxyHops: number) =>
	new Elysia({ name: 'rate-limit' }).macro({
		rateLimit: (bucket: RateLimitBucket) => ({
			async beforeHandle({ request, server, body }) {
				const { ip, account } = BUCKETS[bucket](limits) as { ip: Limit; account?: Limit }
				await ip.consume(clientIp(request, server, trustProxyHops))
				const email = (body as { email?: unknown } | undefined)?.email
				if (account && typeof email === 'string') await account.consume(accountKey(email))
			},
		}),
	})

export type RateLimitPlugin = ReturnType<typeof rateLimitPlugin>
