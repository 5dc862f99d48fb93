import { createHash } from 'node:crypto'
import type Redis from 'ioredis'
import { RateLimiterMemory, RateLimiterRedis, RateLimiterRes, type RateLimiterAbstract } from 'rate-limiter-flexible'
import type { AuthConfig } from '../config'
import { RateLimitedError } from '../core/errors'

/**
 * A fixed-window counter per key (rate-limiter-flexible). With Redis the counters live under
 * `REDIS_PREFIX` so every API instance shares them; if Redis fails, an in-memory limiter of the
 * same shape takes over (per instance) rather than letting the limit fall away.
 */
export class Limit {
	constructor(private readonly limiter: RateLimiterAbstract) {}

	/** Counts one attempt; throws RateLimitedError once the window's allowance is spent. */
	async consume(key: string): Promise<void> {
		try {
			await this.limiter.consume(key)
		} catch (err) {
			throw err instanceof RateLimiterRes ? new RateLimitedError(retryAfter(err)) : err
		}
	}

	/** Throws RateLimitedError if the allowance is already spent, without counting this attempt. */
	async check(key: string): Promise<void> {
		const res = await this.limiter.get(key)
		if (res && res.remainingPoints <= 0) throw new RateLimitedError(retryAfter(res))
	}

	/** Counts an attempt after the fact (a failed login); never throws itself. */
	async penalize(key: string): Promise<void> {
		await this.limiter.penalty(key)
	}

	async reset(key: string): Promise<void> {
		await this.limiter.delete(key)
	}
}

const retryAfter = (res: RateLimiterRes) => Math.max(1, Math.ceil(res.msBeforeNext / 1000))

export interface RateLimits {
	loginPerIp: Limit
	/** Failed logins per account: counted on failure, checked before each attempt. */
	loginPerAccount: Limit
	signupPerIp: Limit
	mailPerIp: Limit
	mailPerAccount: Limit
}

export function createRateLimits({ redis, prefix, config }: { redis: Redis | null; prefix: string; config: AuthConfig }): RateLimits {
	const { windowSeconds: duration, ...points } = config.rateLimits
	const make = (name: string, max: number) => {
		const keyPrefix = `${prefix}ratelimit:${name}`
		const memory = new RateLimiterMemory({ keyPrefix, points: max, duration })
		if (!redis) return new Limit(memory)
		return new Limit(new RateLimiterRedis({ storeClient: redis, keyPrefix, points: max, duration, insuranceLimiter: memory }))
	}
	return {
		loginPerIp: make('login-ip', points.loginPerIp),
		loginPerAccount: make('login-account', points.loginPerAccount),
		signupPerIp: make('signup-ip', points.signupPerIp),
		mailPerIp: make('mail-ip', points.mailPerIp),
		mailPerAccount: make('mail-account', points.mailPerAccount),
	}
}

/** Failed logins per account: checked before an attempt, counted on a wrong password, cleared on a right one. */
export interface LoginThrottle {
	check(email: string): Promise<void>
	failed(email: string): Promise<void>
	succeeded(email: string): Promise<void>
}

export const loginThrottle = (limits: RateLimits): LoginThrottle => ({
	check: (email) => limits.loginPerAccount.check(accountKey(email)),
	failed: (email) => limits.loginPerAccount.penalize(accountKey(email)),
	succeeded: (email) => limits.loginPerAccount.reset(accountKey(email)),
})

/** Keys per account are a digest of the normalised email: no addresses sit in Redis. */
export const accountKey = (email: string) => createHash('sha256').update(email.trim().toLowerCase()).digest('base64url').slice(0, 32)
