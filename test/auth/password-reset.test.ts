import { afterAll, beforeAll, describe, expect, it } from 'bun:test'
import postgres from 'postgres'
import { api, createVerifiedUser, expectError, linkOf, login, refreshCookieOf, signUp, uniqueEmail } from '../helpers/accounts'
import { startTestApp, type TestApp } from '../helpers/app'
import { startSmtpSink, type SmtpSink } from '../helpers/smtp'
import { until } from '../helpers/until'

let app: TestApp
let smtp: SmtpSink
let sql: postgres.Sql
const newPassword = 'a brand new passphrase'

beforeAll(async () => {
	smtp = await startSmtpSink()
	app = await startTestApp({ SMTP_URL: smtp.url, PUBLIC_URL: 'https://app.example.test' })
	sql = postgres(app.database.url, { max: 1, onnotice: () => {} })
})
afterAll(async () => {
	await sql.end()
	await app.close()
	await smtp.close()
})

/** Asks for a reset and returns the token from the mail. */
async function resetToken(email: string): Promise<string> {
	expect((await api(app).post('/auth/password-reset', { email })).status).toBe(202)
	const mail = await smtp.nextMailTo(email)
	expect(mail.subject).toBe('Reset your password')
	return linkOf(mail).token
}
const confirm = (token: string, password: string) => api(app).post('/auth/password-reset/confirm', { token, password })

describe('POST /auth/password-reset', () => {
	it('answers 202 and mails a link to PUBLIC_URL/reset-password with a token', async () => {
		const alice = await createVerifiedUser(app, smtp)
		const res = await api(app).post('/auth/password-reset', { email: alice.email })
		expect(res.status).toBe(202)
		expect(await res.json()).toEqual({ status: 'accepted' })
		const { url, token } = linkOf(await smtp.nextMailTo(alice.email))
		expect(url.origin + url.pathname).toBe('https://app.example.test/reset-password')
		expect(Buffer.from(token, 'base64url').length).toBeGreaterThanOrEqual(32)
	})

	it('stores the reset token only as its SHA-256', async () => {
		const alice = await createVerifiedUser(app, smtp)
		const token = await resetToken(alice.email)
		const rows = await sql`select token_hash from user_tokens where user_id = ${alice.user.id} and purpose = 'password_reset'`
		expect(rows.map((r) => r.token_hash)).toEqual([new Bun.CryptoHasher('sha256').update(token).digest('hex')])
	})

	it('answers an unknown address exactly as a known one, and mails nothing', async () => {
		const alice = await createVerifiedUser(app, smtp)
		const ghost = uniqueEmail('ghost')
		const unknown = await api(app).post('/auth/password-reset', { email: ghost })
		const known = await api(app).post('/auth/password-reset', { email: alice.email })
		expect([unknown.status, await unknown.json()]).toEqual([known.status, await known.json()])
		await smtp.nextMailTo(alice.email) // the ghost's lookup started first and does less; it is done by now
		expect(smtp.pendingFor(ghost)).toEqual([])
	})

	it('answers before looking the address up, so how long it takes says nothing about the account', async () => {
		const alice = await createVerifiedUser(app, smtp)
		const ghost = uniqueEmail('ghost')
		// Every lookup of an address waits behind this lock for as long as the test holds it.
		const blocker = await sql.reserve()
		await blocker`begin`
		await blocker`lock table users in access exclusive mode`
		try {
			const answers = await Promise.all([ghost, alice.email].map((email) => api(app).post('/auth/password-reset', { email })))
			expect(answers.map((r) => r.status)).toEqual([202, 202])
			// The lock does hold lookups back (the pool may queue the second behind the first).
			await until(async () => {
				const [waiting] = await blocker<
					{ n: number }[]
				>`select count(*)::int as n from pg_stat_activity where datname = current_database() and wait_event_type = 'Lock'`
				return waiting!.n > 0
			}, 'a lookup to wait for the lock')
		} finally {
			await blocker`rollback`
			blocker.release()
		}
		await smtp.nextMailTo(alice.email)
		expect(smtp.pendingFor(ghost)).toEqual([])
	})

	it('refuses an address that is not one with 400', async () => {
		await expectError(await api(app).post('/auth/password-reset', { email: "x' or 1=1 --" }), 400, 'VALIDATION_FAILED')
		await expectError(await api(app).post('/auth/password-reset', '{'), 400, 'MALFORMED_BODY')
	})
})

describe('POST /auth/password-reset/confirm', () => {
	it('sets the new password: the new one logs in, the old one no longer does', async () => {
		const alice = await createVerifiedUser(app, smtp)
		expect((await confirm(await resetToken(alice.email), newPassword)).status).toBe(204)
		expect((await login(app, alice.email, newPassword)).res.status).toBe(200)
		await expectError(await login(app, alice.email, alice.password), 401, 'INVALID_CREDENTIALS')
	})

	it('signs out every device: refresh tokens revoked and access tokens dead at once', async () => {
		const alice = await createVerifiedUser(app, smtp)
		expect((await api(app).get('/users/me', alice.headers)).status).toBe(200)
		await confirm(await resetToken(alice.email), newPassword)
		await expectError(await api(app).get('/users/me', alice.headers), 401, 'UNAUTHORIZED')
		await expectError(await api(app).post('/auth/refresh', undefined, { cookie: alice.cookie }), 401, 'INVALID_REFRESH_TOKEN')
	})

	it('refuses a token used a second time with 400 INVALID_TOKEN', async () => {
		const alice = await createVerifiedUser(app, smtp)
		const token = await resetToken(alice.email)
		expect((await confirm(token, newPassword)).status).toBe(204)
		await expectError(await confirm(token, 'yet another passphrase'), 400, 'INVALID_TOKEN')
		expect((await login(app, alice.email, newPassword)).res.status).toBe(200)
	})

	it('lets the first link used retire the other outstanding ones', async () => {
		const alice = await createVerifiedUser(app, smtp)
		const first = await resetToken(alice.email)
		const second = await resetToken(alice.email)
		expect((await confirm(second, newPassword)).status).toBe(204)
		await expectError(await confirm(first, 'yet another passphrase'), 400, 'INVALID_TOKEN')
	})

	it('refuses a weak password with 400 WEAK_PASSWORD and leaves the token usable', async () => {
		const alice = await createVerifiedUser(app, smtp)
		const token = await resetToken(alice.email)
		await expectError(await confirm(token, 'short'), 400, 'WEAK_PASSWORD')
		await expectError(await confirm(token, alice.email), 400, 'WEAK_PASSWORD')
		expect((await confirm(token, newPassword)).status).toBe(204)
	})

	it('refuses unknown tokens, SQL, emoji and RTL alike with 400 INVALID_TOKEN, and NUL as invalid text', async () => {
		for (const token of ['A'.repeat(43), "'; update users set password_hash = '' --", '🔑', 'רמז'])
			await expectError(await confirm(token, newPassword), 400, 'INVALID_TOKEN')
		await expectError(await confirm('x\u0000y', newPassword), 400, 'VALIDATION_FAILED')
	})

	it('refuses a verification token presented as a reset token', async () => {
		const email = uniqueEmail()
		await signUp(app, { email, password: 'correct horse battery staple' })
		const { token } = linkOf(await smtp.nextMailTo(email))
		await expectError(await confirm(token, newPassword), 400, 'INVALID_TOKEN')
	})

	it('accepts a new password with emoji and RTL characters, and refuses one with NUL', async () => {
		const alice = await createVerifiedUser(app, smtp)
		const token = await resetToken(alice.email)
		await expectError(await confirm(token, 'סיסמה 🔐 with\u0000nul'), 400, 'VALIDATION_FAILED')
		const exotic = 'סיסמה 🔐 with no nul'
		expect((await confirm(token, exotic)).status).toBe(204)
		expect((await login(app, alice.email, exotic)).res.status).toBe(200)
	})

	it('verifies an unverified account, since the mailed link proves the address', async () => {
		const email = uniqueEmail()
		await signUp(app, { email, password: 'correct horse battery staple' })
		await smtp.nextMailTo(email) // the verification mail, left unused
		expect((await confirm(await resetToken(email), newPassword)).status).toBe(204)
		const { res, body } = await login(app, email, newPassword)
		expect(res.status).toBe(200)
		expect(body.user.emailVerified).toBe(true)
		expect(refreshCookieOf(res)).not.toBeNull()
	})

	it('refuses a body without a token with 400 VALIDATION_FAILED', async () => {
		await expectError(await api(app).post('/auth/password-reset/confirm', { password: newPassword }), 400, 'VALIDATION_FAILED')
	})
})
