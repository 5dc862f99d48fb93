import { Elysia } from 'elysia'
import { accountKey, type Limit, type RateLimits } from '../lib/rate-limits'
import { clientIp } from './request-context'

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
