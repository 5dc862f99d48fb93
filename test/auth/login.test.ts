import { afterAll, beforeAll, describe, expect, it, spyOn } from 'bun:test'
import { treaty } from '@elysiajs/eden'
import postgres from 'postgres'
import type { App } from '../../src/app'
import { dummyPasswordHash, hashToken, needsRehash } from '../../src/modules/auth/secrets'
import { api, createVerifiedUser, expectError, login, refreshCookieOf, signUp, uniqueEmail, type User } from '../helpers/accounts'
import { startTestApp, type TestApp } from '../helpers/app'
import { startSmtpSink, type SmtpSink } from '../helpers/smtp'

let app: TestApp
let smtp: SmtpSink
let sql: postgres.Sql

beforeAll(async () => {
	smtp = await startSmtpSink()
	app = await startTestApp({ SMTP_URL: smtp.url, COOKIE_SECURE: 'true', BODY_LIMIT_BYTES: '4096' })
	sql = postgres(app.database.url, { max: 1, onnotice: () => {} })
})
afterAll(async () => {
	await sql.end()
	await app.close()
	await smtp.close()
})

const refresh = async (cookie: string | null) => {
	const res = await api(app).post('/auth/refresh', undefined, cookie ? { cookie } : {})
	return { res, cookie: refreshCookieOf(res) }
}
const me = (accessToken: string) => api(app).get('/users/me', { authorization: `Bearer ${accessToken}` })

describe('POST /auth/login', () => {
	it('answers the access token, its type and lifetime, and the user', async () => {
		const alice = await createVerifiedUser(app, smtp, { name: 'Alice' })
		const { res, body } = await login(app, alice.email, alice.password)
		expect(res.status).toBe(200)
		expect(body).toEqual({ accessToken: expect.any(String), tokenType: 'Bearer', expiresIn: 900, user: alice.user })
		expect(body.user).toMatchObject({ email: alice.email, name: 'Alice', emailVerified: true })
	})

	it('sets the refresh token as an httpOnly, SameSite=Strict, Secure cookie limited to /auth', async () => {
		const alice = await createVerifiedUser(app, smtp)
		const { res } = await login(app, alice.email, alice.password)
		const cookie = res.headers.getSetCookie().find((c) => c.startsWith('refresh_token='))!
		expect(cookie).toMatch(/; Path=\/auth(;|$)/)
		expect(cookie).toContain('HttpOnly')
		expect(cookie).toContain('SameSite=Strict')
		expect(cookie).toContain('Secure')
		expect(cookie).toMatch(/Expires=/)
	})

	it('accepts the email in any case', async () => {
		const alice = await createVerifiedUser(app, smtp)
		expect((await login(app, alice.email.toUpperCase(), alice.password)).res.status).toBe(200)
	})

	it('refuses a wrong password with 401 INVALID_CREDENTIALS', async () => {
		const alice = await createVerifiedUser(app, smtp)
		const res = await api(app).post('/auth/login', { email: alice.email, password: 'wrong password!' })
		const error = await expectError(res, 401, 'INVALID_CREDENTIALS')
		expect(error.message).toBe('Email or password is incorrect')
		expect(refreshCookieOf(res)).toBeNull()
	})

	it('refuses an unknown email with the same 401 and message', async () => {
		const error = await expectError(
			await api(app).post('/auth/login', { email: uniqueEmail('ghost'), password: 'whatever it is' }),
			401,
			'INVALID_CREDENTIALS',
		)
		expect(error.message).toBe('Email or password is incorrect')
	})

	it('verifies the password for an unknown email too, against a dummy hash as costly as a real one', async () => {
		const alice = await createVerifiedUser(app, smtp)
		const [row] = await sql<{ password_hash: string }[]>`select password_hash from users where id = ${alice.user.id}`
		const stored = row!.password_hash
		const verify = spyOn(Bun.password, 'verify')
		try {
			await expectError(await api(app).post('/auth/login', { email: uniqueEmail('ghost'), password: 'not the password' }), 401, 'INVALID_CREDENTIALS')
			await expectError(await api(app).post('/auth/login', { email: alice.email, password: 'not the password' }), 401, 'INVALID_CREDENTIALS')
			// One verification each: the unknown address against the dummy hash, the known one against its own.
			const dummy = await dummyPasswordHash()
			expect(verify.mock.calls).toEqual([
				['not the password', dummy, 'argon2id'],
				['not the password', stored, 'argon2id'],
			])
			// Same algorithm, version and cost parameters (`$argon2id$v=…$m=…,t=…,p=…$`), so the same work.
			const parameters = (hash: string) => hash.split('$').slice(0, 4).join('$')
			expect(parameters(dummy)).toBe(parameters(stored))
			expect(needsRehash(dummy)).toBe(false)
		} finally {
			verify.mockRestore()
		}
	})

	it('refuses a correct password before verification with 403 EMAIL_NOT_VERIFIED', async () => {
		const email = uniqueEmail()
		await signUp(app, { email, password: 'correct horse battery staple' })
		const res = await api(app).post('/auth/login', { email, password: 'correct horse battery staple' })
		await expectError(res, 403, 'EMAIL_NOT_VERIFIED')
		expect(refreshCookieOf(res)).toBeNull()
	})

	it('answers 401, not 403, to a wrong password for an unverified account', async () => {
		const email = uniqueEmail()
		await signUp(app, { email, password: 'correct horse battery staple' })
		await expectError(await api(app).post('/auth/login', { email, password: 'wrong password!' }), 401, 'INVALID_CREDENTIALS')
	})

	it('refuses malformed JSON, missing fields and oversized bodies', async () => {
		await expectError(await api(app).post('/auth/login', '{"email":'), 400, 'MALFORMED_BODY')
		await expectError(await api(app).post('/auth/login', { email: uniqueEmail() }), 400, 'VALIDATION_FAILED')
		await expectError(await api(app).post('/auth/login', { email: uniqueEmail(), password: 'x'.repeat(5_000) }), 413, 'PAYLOAD_TOO_LARGE')
	})

	it('treats SQL, emoji and RTL in the password as a wrong password, and refuses NUL as invalid text', async () => {
		const alice = await createVerifiedUser(app, smtp)
		for (const password of ["' or '1'='1", "'; drop table users; --", '🔓🔓🔓', 'كلمة السر'])
			await expectError(await api(app).post('/auth/login', { email: alice.email, password }), 401, 'INVALID_CREDENTIALS')
		const error = await expectError(await api(app).post('/auth/login', { email: alice.email, password: 'a\u0000b' }), 400, 'VALIDATION_FAILED')
		expect(error.details).toEqual([{ field: 'password', message: 'must be valid Unicode text without NUL characters' }])
		expect((await login(app, alice.email, alice.password)).res.status).toBe(200)
	})

	it('refuses SQL, emoji, RTL and NUL in the email with 400', async () => {
		for (const email of ["' or 1=1 --", "a@b.c' or '1'='1", '🙂@example.test', 'علي@example.test', 'a\u0000@example.test'])
			await expectError(await api(app).post('/auth/login', { email, password: 'whatever it is' }), 400, 'VALIDATION_FAILED')
	})
})

describe('POST /auth/refresh', () => {
	it('answers a new access token and rotates the cookie', async () => {
		const alice = await createVerifiedUser(app, smtp)
		const { res, cookie } = await refresh(alice.cookie)
		expect(res.status).toBe(200)
		const body = (await res.json()) as { accessToken: string; tokenType: string; expiresIn: number; user: User }
		expect(body).toEqual({ accessToken: expect.any(String), tokenType: 'Bearer', expiresIn: 900, user: alice.user })
		expect(cookie).not.toBeNull()
		expect(cookie).not.toBe(alice.cookie)
		expect((await me(body.accessToken)).status).toBe(200)
	})

	it('keeps working along the chain of rotated cookies', async () => {
		const alice = await createVerifiedUser(app, smtp)
		let cookie = alice.cookie
		for (let i = 0; i < 3; i++) {
			const next = await refresh(cookie)
			expect(next.res.status).toBe(200)
			cookie = next.cookie!
		}
	})

	it('rotating a refresh token twice revokes the family', async () => {
		const alice = await createVerifiedUser(app, smtp)
		const first = await refresh(alice.cookie)
		expect(first.res.status).toBe(200)
		await expectError((await refresh(alice.cookie)).res, 401, 'INVALID_REFRESH_TOKEN') // reuse detected
		await expectError((await refresh(first.cookie)).res, 401, 'INVALID_REFRESH_TOKEN') // whole family revoked
	})

	it('leaves other logins of the same user alone when one family is revoked', async () => {
		const alice = await createVerifiedUser(app, smtp)
		const laptop = await login(app, alice.email, alice.password)
		await refresh(alice.cookie)
		await refresh(alice.cookie) // reuse: revokes the phone's family
		expect((await refresh(laptop.cookie)).res.status).toBe(200)
	})

	it('answers unknown, missing and revoked cookies with the same 401', async () => {
		const alice = await createVerifiedUser(app, smtp)
		await api(app).post('/auth/logout', undefined, { cookie: alice.cookie })
		const messages = new Set<string>()
		for (const cookie of [
			alice.cookie,
			'refresh_token=made-up',
			null,
			"refresh_token='%3B drop table refresh_tokens; --",
			'refresh_token=%F0%9F%9A%80',
			// Not a token at all: percent-encoding that does not decode, JSON (the cookie parser reads it), too long.
			'refresh_token=%FF%FE',
			'refresh_token={"a":1}',
			`refresh_token=${'x'.repeat(600)}`,
		]) {
			messages.add((await expectError((await refresh(cookie)).res, 401, 'INVALID_REFRESH_TOKEN')).message)
		}
		expect([...messages]).toEqual(['Refresh token is invalid or expired'])
	})
})

describe('POST /auth/logout', () => {
	it('revokes the refresh token and clears the cookie', async () => {
		const alice = await createVerifiedUser(app, smtp)
		const res = await api(app).post('/auth/logout', undefined, { cookie: alice.cookie })
		expect(res.status).toBe(204)
		const cleared = res.headers.getSetCookie().find((c) => c.startsWith('refresh_token='))!
		expect(cleared).toMatch(/^refresh_token=;/)
		expect(cleared).toContain('Max-Age=0')
		expect(cleared).toContain('Path=/auth')
		await expectError((await refresh(alice.cookie)).res, 401, 'INVALID_REFRESH_TOKEN')
	})

	it('answers 204 without a cookie, or twice in a row', async () => {
		const alice = await createVerifiedUser(app, smtp)
		expect((await api(app).post('/auth/logout')).status).toBe(204)
		expect((await api(app).post('/auth/logout', undefined, { cookie: alice.cookie })).status).toBe(204)
		expect((await api(app).post('/auth/logout', undefined, { cookie: alice.cookie })).status).toBe(204)
	})

	it('clears a cookie that holds no token at all, rather than refuse it', async () => {
		for (const cookie of ['refresh_token=%FF%FE', 'refresh_token=[1]']) {
			const res = await api(app).post('/auth/logout', undefined, { cookie })
			expect(res.status).toBe(204)
			expect(res.headers.getSetCookie().find((c) => c.startsWith('refresh_token='))).toMatch(/^refresh_token=;.*Max-Age=0/)
		}
	})

	it('leaves the access token valid until it expires (only logout-all revokes those)', async () => {
		const alice = await createVerifiedUser(app, smtp)
		await api(app).post('/auth/logout', undefined, { cookie: alice.cookie })
		expect((await me(alice.accessToken)).status).toBe(200)
	})
})

describe('POST /auth/logout-all', () => {
	it('kills every access token of the user at once', async () => {
		const alice = await createVerifiedUser(app, smtp)
		const laptop = await login(app, alice.email, alice.password)
		expect((await me(alice.accessToken)).status).toBe(200) // cached as valid
		expect((await api(app).post('/auth/logout-all', undefined, alice.headers)).status).toBe(204)
		await expectError(await me(alice.accessToken), 401, 'UNAUTHORIZED')
		await expectError(await me(laptop.body.accessToken), 401, 'UNAUTHORIZED')
	})

	it('revokes every refresh token of the user', async () => {
		const alice = await createVerifiedUser(app, smtp)
		const laptop = await login(app, alice.email, alice.password)
		await api(app).post('/auth/logout-all', undefined, alice.headers)
		await expectError((await refresh(alice.cookie)).res, 401, 'INVALID_REFRESH_TOKEN')
		await expectError((await refresh(laptop.cookie)).res, 401, 'INVALID_REFRESH_TOKEN')
	})

	it('also ends a family whose refresh raced it: a token issued before it never rotates again', async () => {
		const alice = await createVerifiedUser(app, smtp)
		const stolen = await login(app, alice.email, alice.password)
		const rotated = await refresh(stolen.cookie)
		expect(rotated.res.status).toBe(200)
		await api(app).post('/auth/logout-all', undefined, alice.headers)
		// A rotation that inserts its new token after logout-all revoked the family leaves just this:
		// a token of the old version that nothing revoked.
		const hash = hashToken(decodeURIComponent(rotated.cookie!.slice('refresh_token='.length)))
		expect((await sql`update refresh_tokens set revoked_at = null where token_hash = ${hash} returning id`).length).toBe(1)
		await expectError((await refresh(rotated.cookie)).res, 401, 'INVALID_REFRESH_TOKEN')
	})

	it('lets the user log in again afterwards', async () => {
		const alice = await createVerifiedUser(app, smtp)
		await api(app).post('/auth/logout-all', undefined, alice.headers)
		const again = await login(app, alice.email, alice.password)
		expect(again.res.status).toBe(200)
		expect((await me(again.body.accessToken)).status).toBe(200)
	})

	it("leaves other users' tokens alone", async () => {
		const alice = await createVerifiedUser(app, smtp)
		const bob = await createVerifiedUser(app, smtp)
		await api(app).post('/auth/logout-all', undefined, alice.headers)
		expect((await me(bob.accessToken)).status).toBe(200)
	})

	it('requires an access token', async () => {
		await expectError(await api(app).post('/auth/logout-all'), 401, 'UNAUTHORIZED')
	})
})

describe('GET /users/me and the auth macro', () => {
	it('answers the signed-in user', async () => {
		const alice = await createVerifiedUser(app, smtp, { name: 'مريم 🚀' })
		const res = await me(alice.accessToken)
		expect(res.status).toBe(200)
		expect(await res.json()).toEqual({ ...alice.user, name: 'مريم 🚀' })
	})

	it('refuses a missing, malformed, foreign or tampered token with 401 UNAUTHORIZED', async () => {
		const alice = await createVerifiedUser(app, smtp)
		const [header, payload, signature] = alice.accessToken.split('.')
		const claims = JSON.parse(Buffer.from(payload!, 'base64url').toString())
		const forged = `${header}.${Buffer.from(JSON.stringify({ ...claims, tid: crypto.randomUUID() })).toString('base64url')}.${signature}`
		const unsigned = `${Buffer.from('{"alg":"none","typ":"JWT"}').toString('base64url')}.${payload}.`
		for (const authorization of [
			undefined,
			'Bearer',
			'Bearer not.a.jwt',
			`Basic ${alice.accessToken}`,
			`Bearer ${forged}`,
			`Bearer ${unsigned}`,
			"Bearer ' or 1=1 --",
		]) {
			await expectError(await api(app).get('/users/me', authorization ? { authorization } : {}), 401, 'UNAUTHORIZED')
		}
	})

	it('does not accept the refresh token as an access token', async () => {
		const alice = await createVerifiedUser(app, smtp)
		await expectError(await me(alice.cookie.slice('refresh_token='.length)), 401, 'UNAUTHORIZED')
	})

	it("never shows one tenant another tenant's user", async () => {
		const alice = await createVerifiedUser(app, smtp)
		const bob = await createVerifiedUser(app, smtp)
		expect(alice.user.tenantId).not.toBe(bob.user.tenantId)
		const seen = (await (await me(bob.accessToken)).json()) as User
		expect(seen.id).toBe(bob.user.id)
		expect(JSON.stringify(seen)).not.toContain(alice.user.id)
	})

	it('works through the Eden client with the exported App type', async () => {
		const alice = await createVerifiedUser(app, smtp)
		const client = treaty<App>(app.url)
		const { data, error, status } = await client.users.me.get({ headers: alice.headers })
		expect(status).toBe(200)
		expect(error).toBeNull()
		expect(data?.email).toBe(alice.email)
		const denied = await client.auth.login.post({ email: alice.email, password: 'wrong password!' }, { headers: { 'x-forwarded-for': '10.9.9.9' } })
		expect(denied.status).toBe(401)
		expect(denied.error?.value).toMatchObject({ error: { code: 'INVALID_CREDENTIALS' } })
	})
})
