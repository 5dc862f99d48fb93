import { afterAll, beforeAll, describe, expect, it } from 'bun:test'
import postgres from 'postgres'
import { api, expectError, linkOf, login, signUp, uniqueEmail, type User } from '../helpers/accounts'
import { startTestApp, type TestApp } from '../helpers/app'
import { startSmtpSink, type SmtpSink } from '../helpers/smtp'

let app: TestApp
let smtp: SmtpSink
let sql: postgres.Sql
const password = 'correct horse battery staple'

beforeAll(async () => {
	smtp = await startSmtpSink()
	app = await startTestApp({ SMTP_URL: smtp.url, PUBLIC_URL: 'https://app.example.test', BODY_LIMIT_BYTES: '4096' })
	sql = postgres(app.database.url, { max: 1, onnotice: () => {} })
})
afterAll(async () => {
	await sql.end()
	await app.close()
	await smtp.close()
})

describe('POST /users (sign-up)', () => {
	it('creates a tenant and its unverified owner and answers 201 with the public user', async () => {
		const email = uniqueEmail('ada')
		const { res, body } = await signUp(app, { email, password, name: 'Ada Lovelace' })
		expect(res.status).toBe(201)
		expect(body).toEqual({ id: expect.any(String), email, name: 'Ada Lovelace', tenantId: expect.any(String), emailVerified: false })
		const [row] = await sql`select u.role, t.id as tenant from users u join tenants t on t.id = u.tenant_id where u.id = ${body.id}`
		expect(row).toEqual({ role: 'owner', tenant: body.tenantId })
	})

	it('gives every sign-up a tenant of its own', async () => {
		const a = await signUp(app, { email: uniqueEmail(), password })
		const b = await signUp(app, { email: uniqueEmail(), password })
		expect(a.body.tenantId).not.toBe(b.body.tenantId)
	})

	it('stores an argon2id hash (m=19 MiB, t=2), never the password', async () => {
		const { body } = await signUp(app, { email: uniqueEmail(), password })
		const [row] = await sql`select password_hash from users where id = ${body.id}`
		expect(row!.password_hash).toStartWith('$argon2id$v=19$m=19456,t=2,p=1$')
		expect(row!.password_hash).not.toContain(password)
	})

	it('mails a verification link under PUBLIC_URL whose token is stored only as a hash', async () => {
		const email = uniqueEmail()
		const { body } = await signUp(app, { email, password, name: 'Grace' })
		const mail = await smtp.nextMailTo(email)
		expect(mail.subject).toBe('Confirm your email address')
		expect(mail.text).toContain('Hello Grace')
		const link = linkOf(mail)
		expect(link.url.origin + link.url.pathname).toBe('https://app.example.test/verify-email')
		expect(link.userId).toBe(body.id)
		expect(Buffer.from(link.token, 'base64url').length).toBeGreaterThanOrEqual(32)
		const rows = await sql`select token_hash from user_tokens where user_id = ${body.id}`
		expect(rows.length).toBe(1)
		expect(rows[0]!.token_hash).toBe(new Bun.CryptoHasher('sha256').update(link.token).digest('hex'))
	})

	it('refuses an email that differs only in case from an existing one with 409 EMAIL_TAKEN', async () => {
		const email = uniqueEmail('Case')
		expect((await signUp(app, { email, password })).res.status).toBe(201)
		await expectError(await signUp(app, { email: email.toUpperCase(), password }), 409, 'EMAIL_TAKEN')
	})

	it('refuses a password shorter than 10 characters with a clear 400', async () => {
		const error = await expectError(await signUp(app, { email: uniqueEmail(), password: 'short1234' }), 400, 'WEAK_PASSWORD')
		expect(error.message).toBe('Password must be at least 10 characters long')
	})

	it('counts password length in characters, so ten different emoji are enough', async () => {
		const emoji = [...'🔑🚀🌍🎉🐙🍕🎸🌵🧭🪁']
		expect((await signUp(app, { email: uniqueEmail(), password: emoji.join('') })).res.status).toBe(201)
		const error = await expectError(await signUp(app, { email: uniqueEmail(), password: emoji.slice(0, 9).join('') }), 400, 'WEAK_PASSWORD')
		expect(error.message).toBe('Password must be at least 10 characters long')
	})

	it.each(['1234567890', ' '.repeat(10), 'password123456', 'qwertyuiop', 'aaaaaaaaaaaa'])(
		'refuses the easily guessed password %p with a message that says what to do',
		async (password) => {
			const error = await expectError(await signUp(app, { email: uniqueEmail(), password }), 400, 'WEAK_PASSWORD')
			expect(error.message).toStartWith('Password is too easy to guess.')
			expect(error.message).toContain('uncommon words')
			expect(error.details).toMatchObject({ field: 'password' })
		},
	)

	it("refuses a password made of the account's own email and name", async () => {
		const email = uniqueEmail('margaretha')
		const error = await expectError(await signUp(app, { email, password: `${email.split('@')[0]}2024`, name: 'Margaretha' }), 400, 'WEAK_PASSWORD')
		expect(error.message).toStartWith('Password is too easy to guess.')
	})

	it('refuses a password equal to the email address, whatever its case', async () => {
		const email = uniqueEmail('samepassword')
		const error = await expectError(await signUp(app, { email, password: email.toUpperCase() }), 400, 'WEAK_PASSWORD')
		expect(error.message).toBe('Password must not be the same as the email address')
	})

	it('refuses an invalid email address with 400 VALIDATION_FAILED naming the field', async () => {
		const error = await expectError(await signUp(app, { email: 'not-an-email', password }), 400, 'VALIDATION_FAILED')
		expect(error.message).toContain('email')
	})

	it('refuses a missing password with 400 VALIDATION_FAILED', async () => {
		await expectError(await api(app).post('/users', { email: uniqueEmail() }), 400, 'VALIDATION_FAILED')
	})

	it('refuses malformed JSON with 400 MALFORMED_BODY', async () => {
		await expectError(await api(app).post('/users', '{"email": "a@b.c", '), 400, 'MALFORMED_BODY')
	})

	it('refuses an oversized body with 413 before hashing anything', async () => {
		await expectError(await api(app).post('/users', { email: uniqueEmail(), password: 'x'.repeat(5_000) }), 413, 'PAYLOAD_TOO_LARGE')
	})

	it('treats SQL in every field as plain data', async () => {
		const injection = "'; drop table users; --"
		// Not an address: refused by validation, never near SQL.
		await expectError(await signUp(app, { email: `${injection}@example.test`, password }), 400, 'VALIDATION_FAILED')
		const email = `o'brien+${Date.now()}@example.test`
		const { res, body } = await signUp(app, { email, password: `${injection} long enough`, name: injection })
		expect(res.status).toBe(201)
		expect(body.name).toBe(injection)
		expect(body.email).toBe(email)
		const [{ count }] = (await sql`select count(*)::int as count from users`) as unknown as [{ count: number }]
		expect(count).toBeGreaterThan(0)
	})

	it('keeps emoji and right-to-left names as given', async () => {
		for (const name of ['Zoë 🚀', 'مريم الأحمد', 'שָׁלוֹם', '\u202Eevil']) {
			const { res, body } = await signUp(app, { email: uniqueEmail(), password, name })
			expect(res.status).toBe(201)
			expect(body.name).toBe(name)
		}
	})

	it('refuses NUL and other control characters in the name', async () => {
		for (const name of ['a\u0000b', 'line\nbreak', '\u0007'])
			await expectError(await signUp(app, { email: uniqueEmail(), password, name }), 400, 'VALIDATION_FAILED')
	})

	it('refuses NUL, emoji or right-to-left text in the email address', async () => {
		for (const email of ['a\u0000b@example.test', '🚀@example.test', 'مريم@example.test'])
			await expectError(await signUp(app, { email, password }), 400, 'VALIDATION_FAILED')
	})

	it('accepts a password with emoji and right-to-left text as given', async () => {
		const email = uniqueEmail()
		const tricky = 'abc דףמ🚀 long enough'
		const created = await signUp(app, { email, password: tricky })
		expect(created.res.status).toBe(201)
		const { token, userId } = linkOf(await smtp.nextMailTo(email))
		await api(app).post(`/users/${userId}/verify`, { token })
		expect((await login(app, email, tricky)).res.status).toBe(200)
		expect((await login(app, email, 'abc')).res.status).toBe(401)
	})

	it.each([
		['a number', 90210555501234],
		['an array', ['hunter2-secret-value']],
		['an object', { value: 'hunter2-secret-value' }],
		['too long', `hunter2-secret-value${'x'.repeat(1_000)}`],
	])('never echoes a rejected password that is %s in the error', async (_, password) => {
		const { res, body } = await signUp(app, { email: 'not an email', password: password as string })
		expect(res.status).toBe(400)
		const text = JSON.stringify(body)
		expect(text).toContain('password')
		expect(text).not.toContain('hunter2')
		expect(text).not.toContain('90210555501234')
	})

	it('refuses a password with NUL, naming the field without echoing the password', async () => {
		const { res, body } = await signUp(app, { email: uniqueEmail(), password: 'abc\u0000secret-value long enough' })
		expect(res.status).toBe(400)
		expect(body.error?.code).toBe('VALIDATION_FAILED')
		expect(JSON.stringify(body)).toContain('password')
		expect(JSON.stringify(body)).not.toContain('secret-value')
	})
})

describe('POST /users/:id/verify', () => {
	async function signedUp() {
		const email = uniqueEmail()
		const { body } = await signUp(app, { email, password })
		return { email, user: body, ...linkOf(await smtp.nextMailTo(email)) }
	}

	it('confirms the address with the mailed token and answers the verified user', async () => {
		const { user, token } = await signedUp()
		const res = await api(app).post(`/users/${user.id}/verify`, { token })
		expect(res.status).toBe(200)
		expect(((await res.json()) as User).emailVerified).toBe(true)
	})

	it('lets the owner log in once verified', async () => {
		const { email, user, token } = await signedUp()
		await api(app).post(`/users/${user.id}/verify`, { token })
		expect((await login(app, email, password)).res.status).toBe(200)
	})

	it('answers the same link opened a second time (a mail scanner may open it first) as confirmed, and another user’s never', async () => {
		const { user, token } = await signedUp()
		expect((await api(app).post(`/users/${user.id}/verify`, { token })).status).toBe(200)
		const again = await api(app).post(`/users/${user.id}/verify`, { token })
		expect(again.status).toBe(200)
		expect(((await again.json()) as User).emailVerified).toBe(true)
		const other = await signedUp()
		await expectError(await api(app).post(`/users/${other.user.id}/verify`, { token }), 400, 'INVALID_TOKEN')
	})

	it('refuses a made-up token with the same answer', async () => {
		const { user } = await signedUp()
		const error = await expectError(await api(app).post(`/users/${user.id}/verify`, { token: 'x'.repeat(43) }), 400, 'INVALID_TOKEN')
		expect(error.message).toBe('The link is invalid, expired or already used')
	})

	it("refuses one user's token for another user", async () => {
		const alice = await signedUp()
		const bob = await signedUp()
		await expectError(await api(app).post(`/users/${bob.user.id}/verify`, { token: alice.token }), 400, 'INVALID_TOKEN')
	})

	it('refuses SQL, emoji and RTL tokens as unknown tokens, and NUL as invalid text', async () => {
		const { user } = await signedUp()
		for (const token of ["' or 1=1 --", '🚀', 'مرحبا'])
			await expectError(await api(app).post(`/users/${user.id}/verify`, { token }), 400, 'INVALID_TOKEN')
		await expectError(await api(app).post(`/users/${user.id}/verify`, { token: 'a\u0000b' }), 400, 'VALIDATION_FAILED')
	})

	it('refuses an id that is not a uuid with 400 VALIDATION_FAILED', async () => {
		await expectError(await api(app).post(`/users/${encodeURIComponent("1' or '1'='1")}/verify`, { token: 'x' }), 400, 'VALIDATION_FAILED')
	})
})

describe('POST /auth/resend-verification', () => {
	it('mails a fresh link that verifies the account', async () => {
		const email = uniqueEmail()
		const { body: user } = await signUp(app, { email, password })
		await smtp.nextMailTo(email)
		const res = await api(app).post('/auth/resend-verification', { email })
		expect(res.status).toBe(202)
		const { token } = linkOf(await smtp.nextMailTo(email))
		expect((await api(app).post(`/users/${user.id}/verify`, { token })).status).toBe(200)
	})

	it('answers 202 for an unknown address and sends nothing', async () => {
		const unknown = uniqueEmail('nobody')
		const known = uniqueEmail()
		await signUp(app, { email: known, password })
		await smtp.nextMailTo(known)
		expect((await api(app).post('/auth/resend-verification', { email: unknown })).status).toBe(202)
		expect((await api(app).post('/auth/resend-verification', { email: known })).status).toBe(202)
		await smtp.nextMailTo(known) // the unknown address was handled first and is cheaper; it is done by now
		expect(smtp.pendingFor(unknown)).toEqual([])
	})

	it('answers 202 for an already verified address and sends nothing', async () => {
		const email = uniqueEmail()
		const { body: user } = await signUp(app, { email, password })
		const { token } = linkOf(await smtp.nextMailTo(email))
		await api(app).post(`/users/${user.id}/verify`, { token })
		expect((await api(app).post('/auth/resend-verification', { email })).status).toBe(202)
		expect((await api(app).post('/auth/password-reset', { email })).status).toBe(202)
		expect((await smtp.nextMailTo(email)).subject).toBe('Reset your password')
	})

	it('refuses a body without a valid email with 400', async () => {
		await expectError(await api(app).post('/auth/resend-verification', { email: "'; drop table users; --" }), 400, 'VALIDATION_FAILED')
	})
})
