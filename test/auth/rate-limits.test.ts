import pino from 'pino'
import { closeRedis, openRedis } from '../../src/redis/connection'
import { afterAll, beforeAll, describe, expect, it } from 'bun:test'
import { loginSlowdownMs, loginThrottle } from '../../src/lib/rate-limits'
import { api, createVerifiedUser, expectError, randomIp, uniqueEmail } from '../helpers/accounts'
import { startTestApp, type TestApp } from '../helpers/app'
import { REDIS_TEST_URL, scanKeys } from '../helpers/redis'

// Small limits so a test reaches them in a few requests; every test uses client addresses and
// accounts of its own, so the counters never couple tests.
const LIMITS = {
	RATE_LIMIT_WINDOW_SECONDS: '600',
	RATE_LIMIT_LOGIN_PER_IP: '8',
	RATE_LIMIT_LOGIN_PER_ACCOUNT: '2',
	RATE_LIMIT_SIGNUP_PER_IP: '2',
	RATE_LIMIT_MAIL_PER_IP: '3',
	RATE_LIMIT_MAIL_PER_ACCOUNT: '2',
}
const password = 'correct horse battery staple'

async function expectRateLimited(res: Response) {
	const error = await expectError(res, 429, 'RATE_LIMITED')
	const retryAfter = Number(res.headers.get('retry-after'))
	expect(retryAfter).toBeGreaterThanOrEqual(1)
	expect(retryAfter).toBeLessThanOrEqual(600)
	expect(error.details).toEqual({ retryAfterSeconds: retryAfter })
}

describe('rate limits with Redis', () => {
	let app: TestApp
	beforeAll(async () => {
		app = await startTestApp(LIMITS)
	})
	afterAll(() => app.close())

	it('limits login attempts per client address, whatever the outcome, with 429 and Retry-After', async () => {
		const client = api(app)
		for (let i = 0; i < 8; i++) expect((await client.post('/auth/login', { email: uniqueEmail(), password })).status).toBe(401)
		await expectRateLimited(await client.post('/auth/login', { email: uniqueEmail(), password }))
	})

	it('does not count one address against another', async () => {
		const client = api(app)
		for (let i = 0; i < 8; i++) await client.post('/auth/login', { email: uniqueEmail(), password })
		expect((await api(app).post('/auth/login', { email: uniqueEmail(), password })).status).toBe(401)
	})

	it('refuses an address that failed too often for an account, and only that address for that account', async () => {
		const alice = await createVerifiedUser(app)
		const attacker = api(app)
		for (let i = 0; i < 2; i++) expect((await attacker.post('/auth/login', { email: alice.email, password: 'wrong password!' })).status).toBe(401)
		await expectRateLimited(await attacker.post('/auth/login', { email: alice.email, password: alice.password }))
		// The same address may still try another account, and the owner logs in from her own.
		expect((await attacker.post('/auth/login', { email: (await createVerifiedUser(app)).email, password })).status).toBe(200)
		expect((await api(app).post('/auth/login', { email: alice.email, password: alice.password })).status).toBe(200)
	})

	it('never locks the owner out, however many addresses guess her password', async () => {
		const alice = await createVerifiedUser(app)
		for (let i = 0; i < 12; i++) expect((await api(app).post('/auth/login', { email: alice.email, password: 'wrong password!' })).status).toBe(401)
		expect((await api(app).post('/auth/login', { email: alice.email, password: alice.password })).status).toBe(200)
	})

	it('lets a device the account used before log in even from an address that was refused', async () => {
		const alice = await createVerifiedUser(app)
		const shared = api(app)
		for (let i = 0; i < 2; i++) await shared.post('/auth/login', { email: alice.email, password: 'wrong password!' })
		await expectRateLimited(await shared.post('/auth/login', { email: alice.email, password: alice.password }))
		// Another account's cookie proves nothing about this one.
		const bob = await createVerifiedUser(app)
		await expectRateLimited(await shared.post('/auth/login', { email: alice.email, password: alice.password }, { cookie: bob.cookie }))
		expect((await shared.post('/auth/login', { email: alice.email, password: alice.password }, { cookie: alice.cookie })).status).toBe(200)
	})

	it('counts the account by its address in any case', async () => {
		const alice = await createVerifiedUser(app)
		const client = api(app)
		await client.post('/auth/login', { email: alice.email.toUpperCase(), password: 'wrong password!' })
		await client.post('/auth/login', { email: alice.email, password: 'wrong password!' })
		await expectRateLimited(await client.post('/auth/login', { email: alice.email.toUpperCase(), password: alice.password }))
	})

	it('forgives an address its earlier failures once it logs in successfully', async () => {
		const alice = await createVerifiedUser(app)
		const client = api(app)
		for (let round = 0; round < 3; round++) {
			expect((await client.post('/auth/login', { email: alice.email, password: 'wrong password!' })).status).toBe(401)
			expect((await client.post('/auth/login', { email: alice.email, password: alice.password })).status).toBe(200)
		}
	})

	it('limits sign-ups per client address', async () => {
		const client = api(app)
		for (let i = 0; i < 2; i++) expect((await client.post('/users', { email: uniqueEmail(), password })).status).toBe(201)
		await expectRateLimited(await client.post('/users', { email: uniqueEmail(), password }))
	})

	it('limits reset and verification mails per client address', async () => {
		const client = api(app)
		expect((await client.post('/auth/password-reset', { email: uniqueEmail() })).status).toBe(202)
		expect((await client.post('/auth/resend-verification', { email: uniqueEmail() })).status).toBe(202)
		expect((await client.post('/auth/password-reset', { email: uniqueEmail() })).status).toBe(202)
		await expectRateLimited(await client.post('/auth/password-reset', { email: uniqueEmail() }))
	})

	it('limits mails per address the same way whether or not it has an account', async () => {
		const alice = await createVerifiedUser(app)
		for (const email of [alice.email, uniqueEmail('ghost')]) {
			for (let i = 0; i < 2; i++) expect((await api(app).post('/auth/password-reset', { email })).status).toBe(202)
			await expectRateLimited(await api(app).post('/auth/password-reset', { email }))
		}
	})

	it('keeps the counters in Redis under the configured prefix, without email addresses in the keys', async () => {
		const email = uniqueEmail('keys')
		await api(app, randomIp()).post('/auth/login', { email, password })
		const redis = openRedis(REDIS_TEST_URL, pino({ level: 'silent' }), 'rate-limit-test')
		try {
			const keys = await scanKeys(redis, `${app.redisPrefix}ratelimit:*`)
			expect(keys.some((k) => k.startsWith(`${app.redisPrefix}ratelimit:login-ip:`))).toBe(true)
			expect(keys.some((k) => k.startsWith(`${app.redisPrefix}ratelimit:login-account:`))).toBe(true)
			expect(keys.some((k) => k.startsWith(`${app.redisPrefix}ratelimit:login-account-address:`))).toBe(true)
			expect(keys.join(' ')).not.toContain(email)
		} finally {
			await closeRedis(redis)
		}
	})

	it('ignores X-Forwarded-For entries left of the trusted proxy', async () => {
		const proxy = randomIp()
		for (let i = 0; i < 8; i++)
			await api(app).post('/auth/login', { email: uniqueEmail(), password }, { 'x-forwarded-for': `${randomIp()}, ${proxy}` })
		await expectRateLimited(await api(app).post('/auth/login', { email: uniqueEmail(), password }, { 'x-forwarded-for': `1.2.3.4, ${proxy}` }))
	})
})

describe('rate limits without Redis (embedded mode)', () => {
	let app: TestApp
	beforeAll(async () => {
		app = await startTestApp({ ...LIMITS, REDIS_URL: undefined })
	})
	afterAll(() => app.close())

	it('counts in memory with the same limits', async () => {
		const client = api(app)
		for (let i = 0; i < 2; i++) expect((await client.post('/users', { email: uniqueEmail(), password })).status).toBe(201)
		await expectRateLimited(await client.post('/users', { email: uniqueEmail(), password }))
	})
})

describe('the slowdown of an account under attack', () => {
	it('waits longer the more an account failed past the threshold, never past 8 s', () => {
		expect([0, 49, 50, 59, 60, 70, 80, 90, 100, 1_000].map((failures) => loginSlowdownMs(failures, 50))).toEqual([
			0, 0, 250, 250, 500, 1_000, 2_000, 4_000, 8_000, 8_000,
		])
	})

	it('waits before checking the password of a guessed-at account, but not for a known device', async () => {
		const slept: number[] = []
		const counts = new Map<string, number>()
		const limit = () => ({
			check: async () => {},
			consume: async () => {},
			penalize: async (key: string) => void counts.set(key, (counts.get(key) ?? 0) + 1),
			reset: async () => {},
			count: async (key: string) => counts.get(key) ?? 0,
		})
		const limits = {
			loginPerIp: limit(),
			loginPerAccount: limit(),
			loginFailures: limit(),
			signupPerIp: limit(),
			mailPerIp: limit(),
			mailPerAccount: limit(),
		}
		const throttle = loginThrottle(limits as never, { loginSlowdownAfter: 3 }, async (ms) => void slept.push(Number(ms)))
		const attempt = (address: string, knownDevice = false) => ({ email: 'alice@example.test', address, knownDevice })
		for (let i = 0; i < 3; i++) {
			await throttle.before(attempt(`10.0.0.${i}`))
			await throttle.failed(attempt(`10.0.0.${i}`))
		}
		expect(slept).toEqual([])
		await throttle.before(attempt('10.0.0.9'))
		expect(slept).toEqual([250])
		await throttle.before(attempt('10.0.0.9', true))
		expect(slept).toEqual([250])
	})
})
