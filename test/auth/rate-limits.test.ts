import { afterAll, beforeAll, describe, expect, it } from 'bun:test'
import Redis from 'ioredis'
import { api, createVerifiedUser, expectError, randomIp, uniqueEmail } from '../helpers/accounts'
import { startTestApp, type TestApp } from '../helpers/app'
import { REDIS_TEST_URL } from '../helpers/redis'

// Small limits so a test reaches them in a few requests; every test uses client addresses and
// accounts of its own, so the counters never couple tests.
const LIMITS = {
	RATE_LIMIT_WINDOW_SECONDS: '600',
	RATE_LIMIT_LOGIN_PER_IP: '3',
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
		for (let i = 0; i < 3; i++) expect((await client.post('/auth/login', { email: uniqueEmail(), password })).status).toBe(401)
		await expectRateLimited(await client.post('/auth/login', { email: uniqueEmail(), password }))
	})

	it('does not count one address against another', async () => {
		const client = api(app)
		for (let i = 0; i < 3; i++) await client.post('/auth/login', { email: uniqueEmail(), password })
		expect((await api(app).post('/auth/login', { email: uniqueEmail(), password })).status).toBe(401)
	})

	it('locks an account after repeated failed logins, even from many addresses and with the right password', async () => {
		const alice = await createVerifiedUser(app)
		for (let i = 0; i < 2; i++) expect((await api(app).post('/auth/login', { email: alice.email, password: 'wrong password!' })).status).toBe(401)
		await expectRateLimited(await api(app).post('/auth/login', { email: alice.email, password: alice.password }))
		expect((await api(app).post('/auth/login', { email: (await createVerifiedUser(app)).email, password })).status).toBe(200)
	})

	it('counts the account by its address in any case', async () => {
		const alice = await createVerifiedUser(app)
		await api(app).post('/auth/login', { email: alice.email.toUpperCase(), password: 'wrong password!' })
		await api(app).post('/auth/login', { email: alice.email, password: 'wrong password!' })
		await expectRateLimited(await api(app).post('/auth/login', { email: alice.email.toUpperCase(), password: alice.password }))
	})

	it('forgives earlier failures once the account logs in successfully', async () => {
		const alice = await createVerifiedUser(app)
		for (let round = 0; round < 3; round++) {
			expect((await api(app).post('/auth/login', { email: alice.email, password: 'wrong password!' })).status).toBe(401)
			expect((await api(app).post('/auth/login', { email: alice.email, password: alice.password })).status).toBe(200)
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
		const redis = new Redis(REDIS_TEST_URL)
		try {
			const keys = await redis.keys(`${app.redisPrefix}ratelimit:*`)
			expect(keys.some((k) => k.startsWith(`${app.redisPrefix}ratelimit:login-ip:`))).toBe(true)
			expect(keys.some((k) => k.startsWith(`${app.redisPrefix}ratelimit:login-account:`))).toBe(true)
			expect(keys.join(' ')).not.toContain(email)
		} finally {
			redis.disconnect()
		}
	})

	it('ignores X-Forwarded-For entries left of the trusted proxy', async () => {
		const proxy = randomIp()
		for (let i = 0; i < 3; i++)
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
