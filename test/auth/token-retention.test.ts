import { afterAll, beforeAll, describe, expect, it } from 'bun:test'
import postgres from 'postgres'
import { createLogger } from '../../src/logger'
import { startServer } from '../../src/server'
import { api, createVerifiedUser, expectError, refreshCookieOf } from '../helpers/accounts'
import { startTestApp, type TestApp } from '../helpers/app'
import { createTestClock } from '../helpers/clock'
import { until } from '../helpers/until'

// Every refresh leaves the rotated token's row behind. Expired ones are deleted by the api role, at
// its start and every ten minutes: here the clock is moved past their lifetime and another api
// process starts. The clock only moves forward, and the tests run one after another.
const clock = createTestClock()
const MINUTE = 60_000
let app: TestApp
let sql: postgres.Sql

beforeAll(async () => {
	app = await startTestApp({ ROLES: 'api', REFRESH_TOKEN_TTL_SECONDS: '3600' }, { clock })
	sql = postgres(app.database.url, { max: 1, onnotice: () => {} })
})
afterAll(async () => {
	await sql?.end({ timeout: 5 })
	await app?.close()
})

const refresh = async (cookie: string) => {
	const res = await api(app).post('/auth/refresh', undefined, { cookie })
	return { res, cookie: refreshCookieOf(res)! }
}
const rowsOf = async (userId: string) => Number((await sql`select count(*) from refresh_tokens where user_id = ${userId}`)[0]!.count)

describe('expired refresh tokens', () => {
	it('are refused alike, rotated or not: a rotated one presented after its lifetime revokes nothing', async () => {
		const carol = await createVerifiedUser(app)
		clock.advance(40 * MINUTE)
		const rotated = await refresh(carol.cookie)
		expect(rotated.res.status).toBe(200)
		// The first token is past its hour; the one it was rotated to has 30 minutes left.
		clock.advance(30 * MINUTE)
		await expectError((await refresh(carol.cookie)).res, 401, 'INVALID_REFRESH_TOKEN')
		expect((await refresh(rotated.cookie)).res.status).toBe(200)
	})

	it('are deleted, with the mailed links past theirs, while the tokens still alive work on and a reuse of one still revokes its family', async () => {
		const alice = await createVerifiedUser(app)
		let cookie = alice.cookie
		for (let i = 0; i < 3; i++) cookie = (await refresh(cookie)).cookie
		expect((await api(app).post('/auth/password-reset', { email: alice.email })).status).toBe(202)
		expect(await rowsOf(alice.user.id)).toBe(4)
		const mailedLinks = async () => Number((await sql`select count(*) from user_tokens where user_id = ${alice.user.id}`)[0]!.count)
		// The address confirmation made at sign-up and the reset link, which the server makes after
		// it has answered (the answer takes the same time whether or not the address has an account).
		await until(async () => (await mailedLinks()) === 2, 'the reset link to be stored')
		clock.advance(25 * 3600 * 1000)
		// Bob logs in now: his tokens are an hour from their end.
		const bob = await createVerifiedUser(app)
		const rotated = await refresh(bob.cookie)

		const another = await startServer({ ...app.config, roles: new Set(['api']) }, createLogger(app.config), { clock })
		try {
			await until(async () => (await rowsOf(alice.user.id)) === 0, "Alice's expired tokens to be deleted")
			expect(await mailedLinks()).toBe(0)
		} finally {
			await another.stop()
		}
		expect(await rowsOf(bob.user.id)).toBe(2)
		await expectError((await refresh(cookie)).res, 401, 'INVALID_REFRESH_TOKEN')
		// Bob's first token was rotated within its lifetime: presented again, it ends his family.
		await expectError((await refresh(bob.cookie)).res, 401, 'INVALID_REFRESH_TOKEN')
		await expectError((await refresh(rotated.cookie)).res, 401, 'INVALID_REFRESH_TOKEN')
	})
})
