import { afterAll, beforeAll, describe, expect, it } from 'bun:test'
import { api, createVerifiedUser, expectError, linkOf, signUp, uniqueEmail } from '../helpers/accounts'
import { startTestApp, type TestApp } from '../helpers/app'
import { createTestClock } from '../helpers/clock'
import { startSmtpSink, type SmtpSink } from '../helpers/smtp'

// Every lifetime is measured on the app's clock, which only moves when a test says so. Tests in
// this file run one after another and the clock only moves forward, so each test's tokens are
// fresh when issued.
const clock = createTestClock()
const SECOND = 1_000
let app: TestApp
let smtp: SmtpSink

beforeAll(async () => {
	smtp = await startSmtpSink()
	app = await startTestApp(
		{
			SMTP_URL: smtp.url,
			ACCESS_TOKEN_TTL_SECONDS: '60',
			REFRESH_TOKEN_TTL_SECONDS: '3600',
			VERIFICATION_TOKEN_TTL_SECONDS: '600',
			PASSWORD_RESET_TOKEN_TTL_SECONDS: '300',
		},
		{ clock },
	)
})
afterAll(async () => {
	await app.close()
	await smtp.close()
})

describe('token lifetimes', () => {
	it('answers expiresIn with the configured access-token lifetime', async () => {
		const alice = await createVerifiedUser(app, smtp)
		const res = await api(app).post('/auth/refresh', undefined, { cookie: alice.cookie })
		expect(((await res.json()) as { expiresIn: number }).expiresIn).toBe(60)
	})

	it('accepts an access token until its lifetime ends, then answers 401', async () => {
		const alice = await createVerifiedUser(app, smtp)
		clock.advance(59 * SECOND)
		expect((await api(app).get('/users/me', alice.headers)).status).toBe(200)
		clock.advance(2 * SECOND)
		await expectError(await api(app).get('/users/me', alice.headers), 401, 'UNAUTHORIZED')
	})

	it('refuses a refresh token past its lifetime with the usual 401', async () => {
		const alice = await createVerifiedUser(app, smtp)
		clock.advance(3601 * SECOND)
		await expectError(await api(app).post('/auth/refresh', undefined, { cookie: alice.cookie }), 401, 'INVALID_REFRESH_TOKEN')
	})

	it('refuses a verification link past its lifetime, and a resent one works', async () => {
		const email = uniqueEmail()
		const { body: user } = await signUp(app, { email, password: 'correct horse battery staple' })
		const { token } = linkOf(await smtp.nextMailTo(email))
		clock.advance(601 * SECOND)
		await expectError(await api(app).post(`/users/${user.id}/verify`, { token }), 400, 'INVALID_TOKEN')
		await api(app).post('/auth/resend-verification', { email })
		const fresh = linkOf(await smtp.nextMailTo(email))
		expect((await api(app).post(`/users/${user.id}/verify`, { token: fresh.token })).status).toBe(200)
	})

	it('refuses a reset link past its lifetime', async () => {
		const alice = await createVerifiedUser(app, smtp)
		await api(app).post('/auth/password-reset', { email: alice.email })
		const { token } = linkOf(await smtp.nextMailTo(alice.email))
		clock.advance(301 * SECOND)
		await expectError(await api(app).post('/auth/password-reset/confirm', { token, password: 'a brand new passphrase' }), 400, 'INVALID_TOKEN')
	})

	it('accepts a reset link just inside its lifetime', async () => {
		const alice = await createVerifiedUser(app, smtp)
		await api(app).post('/auth/password-reset', { email: alice.email })
		const { token } = linkOf(await smtp.nextMailTo(alice.email))
		clock.advance(299 * SECOND)
		expect((await api(app).post('/auth/password-reset/confirm', { token, password: 'a brand new passphrase' })).status).toBe(204)
	})
})
