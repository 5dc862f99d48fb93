import { afterAll, beforeAll, describe, expect, it } from 'bun:test'
import { createLogger } from '../../src/logger'
import type { TokensRevoked } from '../../src/modules/auth/revocations'
import { startServer, type RunningServer } from '../../src/server'
import { api, createVerifiedUser, expectError, linkOf, uniqueEmail } from '../helpers/accounts'
import { startTestApp, type TestApp } from '../helpers/app'
import { startSmtpSink, type SmtpSink } from '../helpers/smtp'

// Two API instances on one database and one Redis prefix, as in a fleet behind a load balancer.
let smtp: SmtpSink
let a: TestApp
let b: RunningServer
let bUrl: string

beforeAll(async () => {
	smtp = await startSmtpSink()
	a = await startTestApp({ SMTP_URL: smtp.url, RATE_LIMIT_LOGIN_PER_IP: '2' })
	b = await startServer(a.config, createLogger(a.config))
	bUrl = `http://127.0.0.1:${b.port}`
})
afterAll(async () => {
	await b.stop()
	await a.close()
	await smtp.close()
})

/** Instance B, in the shape the account helpers take. */
const onB = () => ({ ...a, url: bUrl }) as TestApp
const nextRevocation = (server: RunningServer, userId: string) =>
	new Promise<TokensRevoked>((resolve) => {
		const off = server.revocations!.onTokensRevoked((event) => {
			if (event.userId !== userId) return
			off()
			resolve(event)
		})
	})

describe('several API instances', () => {
	it('tells every instance when a user logs out everywhere', async () => {
		const alice = await createVerifiedUser(a)
		const heardOnB = nextRevocation(b, alice.user.id)
		const heardOnA = nextRevocation(a.server, alice.user.id)
		await api(a).post('/auth/logout-all', undefined, alice.headers)
		const expected = { userId: alice.user.id, tenantId: alice.user.tenantId, tokenVersion: 1, reason: 'logout-all' as const }
		expect(await heardOnA).toEqual(expected)
		expect(await heardOnB).toEqual(expected)
	})

	it('refuses on one instance an access token revoked on another, though it was cached as valid there', async () => {
		const alice = await createVerifiedUser(a)
		expect((await api(onB()).get('/users/me', alice.headers)).status).toBe(200)
		const heard = nextRevocation(b, alice.user.id)
		await api(a).post('/auth/logout-all', undefined, alice.headers)
		await heard
		await expectError(await api(onB()).get('/users/me', alice.headers), 401, 'UNAUTHORIZED')
	})

	it('tells every instance when a password reset ends the sessions', async () => {
		const alice = await createVerifiedUser(a, smtp)
		const heardOnA = nextRevocation(a.server, alice.user.id)
		await api(onB()).post('/auth/password-reset', { email: alice.email })
		const { token } = linkOf(await smtp.nextMailTo(alice.email))
		expect((await api(onB()).post('/auth/password-reset/confirm', { token, password: 'a brand new passphrase' })).status).toBe(204)
		expect((await heardOnA).reason).toBe('password-reset')
		await expectError(await api(a).get('/users/me', alice.headers), 401, 'UNAUTHORIZED')
	})

	it('shares rate-limit counters between instances', async () => {
		const ip = '10.250.0.1'
		expect((await api(a, ip).post('/auth/login', { email: uniqueEmail(), password: 'whatever it is' })).status).toBe(401)
		expect((await api(onB(), ip).post('/auth/login', { email: uniqueEmail(), password: 'whatever it is' })).status).toBe(401)
		await expectError(await api(a, ip).post('/auth/login', { email: uniqueEmail(), password: 'whatever it is' }), 429, 'RATE_LIMITED')
	})
})
