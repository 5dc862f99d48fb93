import { afterAll, beforeAll, describe, expect, it } from 'bun:test'
import { createLogger } from '../../src/logger'
import { startServer, type RunningServer } from '../../src/server'
import { api, createVerifiedUser, expectError, login, type LoggedInUser } from '../helpers/accounts'
import { createApiKey } from '../helpers/api-keys'
import { startTestApp, type TestApp } from '../helpers/app'
import { openSocket } from '../helpers/ws'

// Five requests per user a minute, on each of two instances of one database and Redis prefix.
const LIMIT = 5
let a: TestApp
let b: RunningServer
let onB: TestApp

beforeAll(async () => {
	a = await startTestApp({ ROLES: 'api', USER_RATE_LIMIT: String(LIMIT), USER_RATE_LIMIT_WINDOW_SECONDS: '60' })
	b = await startServer(a.config, createLogger(a.config))
	onB = { ...a, url: `http://127.0.0.1:${b.port}` }
})
afterAll(async () => {
	await b.stop()
	await a.close()
})

/** A second access token of the same user: another device. */
async function secondToken(user: LoggedInUser) {
	const session = await login(a, user.email, user.password)
	expect(session.res.status).toBe(200)
	return { authorization: `Bearer ${session.body.accessToken}` }
}

describe('the per-user rate limit', () => {
	it('answers 429 with Retry-After once a user has spent the window, counting every access token of the user', async () => {
		const alice = await createVerifiedUser(a)
		const otherDevice = await secondToken(alice)
		for (let i = 0; i < LIMIT; i++) expect((await api(a).get('/sessions', i % 2 ? otherDevice : alice.headers)).status).toBe(200)
		const limited = await api(a).get('/sessions', otherDevice)
		const error = await expectError(limited, 429, 'RATE_LIMITED')
		expect(error.message).toMatch(/^Too many requests by this user on this server \(USER_RATE_LIMIT\); retry in \d+ s$/)
		expect(Number(limited.headers.get('retry-after'))).toBeGreaterThan(0)
		// Routes for users only count as well.
		await expectError(await api(a).get('/api-keys', alice.headers), 429, 'RATE_LIMITED')
	})

	it('closes a WebSocket a user opens past the limit with 4429, saying when to retry', async () => {
		const alice = await createVerifiedUser(a)
		for (let i = 0; i < LIMIT; i++) expect((await api(a).get('/chats', alice.headers)).status).not.toBe(429)
		const refused = await openSocket(a.url, {}, alice.headers).closed
		expect(refused.code).toBe(4429)
		expect(refused.reason).toMatch(/^Too many requests by this user on this server \(USER_RATE_LIMIT\); retry in \d+ s$/)
	})

	it('counts a WebSocket opened as a request', async () => {
		const alice = await createVerifiedUser(a)
		const sockets = Array.from({ length: LIMIT }, () => openSocket(a.url, {}, alice.headers))
		for (const socket of sockets) await socket.next((m) => m.type === 'session.snapshot')
		await expectError(await api(a).get('/sessions', alice.headers), 429, 'RATE_LIMITED')
		for (const socket of sockets) socket.close()
	})

	it('is per user: the tenant’s API keys and another account go on', async () => {
		const alice = await createVerifiedUser(a)
		const key = await createApiKey(a, alice, ['sessions:read'])
		const bob = await createVerifiedUser(a)
		for (let i = 1; i < LIMIT; i++) expect((await api(a).get('/sessions', alice.headers)).status).toBe(200)
		await expectError(await api(a).get('/sessions', alice.headers), 429, 'RATE_LIMITED')
		expect((await api(a).get('/sessions', key.headers)).status).toBe(200)
		expect((await api(a).get('/sessions', bob.headers)).status).toBe(200)
	})

	it('is counted by each instance alone', async () => {
		const alice = await createVerifiedUser(a)
		for (let i = 0; i < LIMIT; i++) expect((await api(a).get('/sessions', alice.headers)).status).toBe(200)
		await expectError(await api(a).get('/sessions', alice.headers), 429, 'RATE_LIMITED')
		for (let i = 0; i < LIMIT; i++) expect((await api(onB).get('/sessions', alice.headers)).status).toBe(200)
		await expectError(await api(onB).get('/sessions', alice.headers), 429, 'RATE_LIMITED')
	})

	it('lets a user whose limit a stolen token spent sign out everywhere, which ends that token', async () => {
		const alice = await createVerifiedUser(a)
		const stolen = await secondToken(alice)
		for (let i = 0; i < LIMIT; i++) expect((await api(a).get('/sessions', stolen)).status).toBe(200)
		await expectError(await api(a).get('/sessions', alice.headers), 429, 'RATE_LIMITED')
		expect((await api(a).post('/auth/logout-all', undefined, alice.headers)).status).toBe(204)
		await expectError(await api(a).get('/sessions', stolen), 401, 'UNAUTHORIZED')
	})

	it('is stated in the OpenAPI document: 429 on the routes it counts, not on signing out everywhere', async () => {
		const doc = (await (await fetch(`${a.url}/swagger/json`)).json()) as {
			paths: Record<string, Record<string, { responses: Record<string, { description: string }> }>>
		}
		expect(doc.paths['/sessions']!.get!.responses['429']!.description).toContain('USER_RATE_LIMIT')
		expect(doc.paths['/api-keys']!.get!.responses['429']!.description).toContain('USER_RATE_LIMIT')
		expect(doc.paths['/api-keys']!.get!.responses['429']!.description).not.toContain('API_KEY_RATE_LIMIT')
		expect(doc.paths['/auth/logout-all']!.post!.responses['429']).toBeUndefined()
	})
})
