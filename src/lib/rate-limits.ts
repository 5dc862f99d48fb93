import { createHash } from 'node:crypto'
import type { RedisClient } from './redis-client'
import { RateLimiterMemory, RateLimiterRedis, RateLimiterRes, RLWrapperTimeouts, type RateLimiterAbstract } from 'rate-limiter-flexible'
import type { AuthConfig, Config } from '../config'
import { RateLimitedError } from '../core/errors'

/**
 * A fixed-window counter per key (rate-limiter-flexible). With Redis the counters live under
 * `REDIS_PREFIX` so every API instance shares them; if Redis fails, an in-memory limiter of the
 * same shape takes over (per instance) rather than letting the limit fall away.
 */
export class Limit {
	/** `what`: whose requests it counts, for the refusal's message ("with this API key (API_KEY_RATE_LIMIT)"). */
	constructor(
		private readonly limiter: RateLimiterAbstract,
		private readonly what?: string,
	) {}

	/** Counts one attempt (or `points` of them); throws RateLimitedError once the window's allowance is spent. */
	async consume(key: string, points = 1): Promise<void> {
		try {
			await this.limiter.consume(key, points)
		} catch (err) {
			throw err instanceof RateLimiterRes ? new RateLimitedError(retryAfter(err), this.what) : err
		}
	}

	/** Throws RateLimitedError if the allowance is already spent, without counting this attempt. */
	async check(key: string): Promise<void> {
		const res = await this.limiter.get(key)
		if (res && res.remainingPoints <= 0) throw new RateLimitedError(retryAfter(res), this.what)
	}

	/** Counts an attempt after the fact (a failed login); never throws itself. */
	async penalize(key: string): Promise<void> {
		await this.limiter.penalty(key)
	}

	async reset(key: string): Promise<void> {
		await this.limiter.delete(key)
	}

	/** Attempts counted for `key` in the current window. */
	async count(key: string): Promise<number> {
		return (await this.limiter.get(key))?.consumedPoints ?? 0
	}
}

/** How long a count shared through Redis may take before this process counts alone. */
const SHARED_COUNT_TIMEOUT_MS = 500

const retryAfter = (res: RateLimiterRes) => Math.max(1, Math.ceil(res.msBeforeNext / 1000))

export interface RateLimits {
	loginPerIp: Limit
	/** Failed logins per account and client address: counted on failure, checked before each attempt. */
	loginPerAccount: Limit
	/** Failed logins per account from all addresses: only counted, to slow attempts down. */
	loginFailures: Limit
	signupPerIp: Limit
	mailPerIp: Limit
	mailPerAccount: Limit
	/** Requests per API key, shared by every instance. */
	apiKeyRequests: Limit
	/** Requests per signed-in user, counted by this instance alone (see AuthConfig's `userRateLimit`). */
	userRequests: Limit
	/** Phone numbers looked up on WhatsApp per session (WhatsApp bans accounts that look up many). */
	numberChecksPerSession: Limit
}

/** One limit of `points` per `duration` seconds, shared through Redis when there is one. */
function createLimit({
	redis,
	prefix,
	name,
	points,
	duration,
	what,
}: {
	redis: RedisClient | null
	prefix: string
	name: string
	points: number
	duration: number
	/** See `Limit`. */
	what?: string
}): Limit {
	const keyPrefix = `${prefix}ratelimit:${name}`
	const memory = new RateLimiterMemory({ keyPrefix, points, duration })
	if (!redis) return new Limit(memory, what)
	// A Redis that is down errs and one that is frozen never answers: either way, after half a second at
	// most, this process counts alone (the insurance) rather than hold the request.
	return new Limit(
		new RLWrapperTimeouts({
			limiter: new RateLimiterRedis({ storeClient: redis, keyPrefix, points, duration }),
			timeoutMs: SHARED_COUNT_TIMEOUT_MS,
			insuranceLimiter: memory,
		}),
		what,
	)
}

export function createRateLimits({
	redis,
	prefix,
	config,
}: {
	redis: RedisClient | null
	prefix: string
	config: Pick<Config, 'auth' | 'apiKeys' | 'people'>
}): RateLimits {
	const { windowSeconds, loginSlowdownAfter: _, ...points } = config.auth.rateLimits
	const make = (name: string, max: number, duration = windowSeconds, what?: string) =>
		createLimit({ redis, prefix, name, points: max, duration, what })
	const { apiKeys, people } = config
	return {
		loginPerIp: make('login-ip', points.loginPerIp),
		loginPerAccount: make('login-account-address', points.loginPerAccount),
		loginFailures: make('login-account', Number.MAX_SAFE_INTEGER),
		signupPerIp: make('signup-ip', points.signupPerIp),
		mailPerIp: make('mail-ip', points.mailPerIp),
		mailPerAccount: make('mail-account', points.mailPerAccount),
		apiKeyRequests: make('api-key', apiKeys.rateLimit.points, apiKeys.rateLimit.windowSeconds, 'with this API key (API_KEY_RATE_LIMIT)'),
		userRequests: createLimit({
			redis: null,
			prefix,
			name: 'user',
			points: config.auth.userRateLimit.points,
			duration: config.auth.userRateLimit.windowSeconds,
			what: 'by this user on this server (USER_RATE_LIMIT)',
		}),
		numberChecksPerSession: make('number-check-session', people.numberCheckLimit, people.numberCheckWindowSeconds),
	}
}

/** One login attempt: for which account, from where, and whether it comes from a device the account used before. */
export interface LoginAttempt {
	email: string
	/** The client address (see `clientIp`). */
	address: string
	/** The request carries a refresh cookie of this account (any state): a device its owner used. */
	knownDevice: boolean
}

/**
 * How password guessing is slowed without letting anyone lock an owner out (docs/api.md, "Rate
 * limits"). Failures count per account and client address: an address that failed
 * `loginPerAccount` times for an account is refused (429) for that account until the window ends,
 * and other addresses are not. Failures also count per account from all addresses: past
 * `loginSlowdownAfter`, every attempt for the account waits first, longer the more failures
 * (never refused). A device the account used before (its refresh cookie) skips both.
 */
export interface LoginThrottle {
	/** Before the password is checked: throws RateLimitedError, or waits, or lets it through. */
	before(attempt: LoginAttempt): Promise<void>
	failed(attempt: LoginAttempt): Promise<void>
	succeeded(attempt: LoginAttempt): Promise<void>
}

const FIRST_SLOWDOWN_MS = 250
const MAX_SLOWDOWN_MS = 8_000
/** Failures past the threshold that double the wait. */
const FAILURES_PER_DOUBLING = 10

/** The wait before a login attempt for an account that failed `failures` times in the window. */
export function loginSlowdownMs(failures: number, after: number): number {
	if (failures < after) return 0
	return Math.min(MAX_SLOWDOWN_MS, FIRST_SLOWDOWN_MS * 2 ** Math.floor((failures - after) / FAILURES_PER_DOUBLING))
}

export function loginThrottle(
	limits: RateLimits,
	{ loginSlowdownAfter }: Pick<AuthConfig['rateLimits'], 'loginSlowdownAfter'>,
	sleep = Bun.sleep,
): LoginThrottle {
	const pair = (a: LoginAttempt) => `${accountKey(a.email)}:${createHash('sha256').update(a.address).digest('base64url').slice(0, 16)}`
	return {
		async before(attempt) {
			if (attempt.knownDevice) return
			await limits.loginPerAccount.check(pair(attempt))
			const wait = loginSlowdownMs(await limits.loginFailures.count(accountKey(attempt.email)), loginSlowdownAfter)
			if (wait) await sleep(wait)
		},
		async failed(attempt) {
			await Promise.all([limits.loginPerAccount.penalize(pair(attempt)), limits.loginFailures.penalize(accountKey(attempt.email))])
		},
		async succeeded(attempt) {
			await limits.loginPerAccount.reset(pair(attempt))
		},
	}
}

/** Keys per account are a digest of the normalised email: no addresses sit in Redis. */
export const accountKey = (email: string) => createHash('sha256').update(email.trim().toLowerCase()).digest('base64url').slice(0, 32)
