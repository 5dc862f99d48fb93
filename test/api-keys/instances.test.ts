import { afterAll, beforeAll, describe, expect, it } from 'bun:test'
import postgres from 'postgres'
import { createLogger } from '../../src/logger'
import { startServer, type RunningServer } from '../../src/server'
import { api, createVerifiedUser, expectError, type LoggedInUser } from '../helpers/accounts'
import { createApiKey } from '../helpers/api-keys'
import { startTestApp, type TestApp } from '../helpers/app'
import { openSocket } from '../helpers/ws'

// Two API instances on one database and one Redis prefix, as in a fleet behind a load balancer.
// The last-use flush interval is long, so only the shutdown flush can write it here.
let a: TestApp
let b: RunningServer
let onB: TestApp
let alice: LoggedInUser

beforeAll(async () => {
	a = await startTestApp({ ROLES: 'api', API_KEY_RATE_LIMIT: '4', API_KEY_LAST_USED_FLUSH_SECONDS: '3600' })
	b = await startServer(a.config, createLogger(a.config))
	onB = { ...a, url: `http://127.0.0.1:${b.port}` }
	alice = await createVerifiedUser(a)
})
afterAll(async () => {
	await b.stop()
	await a.close()
})

const revoke = (id: string) => fetch(`${a.url}/api-keys/${id}`, { method: 'DELETE', headers: alice.headers })

describe('API keys on several instances', () => {
	it('refuses on one instance a key revoked on another, though it was cached as valid there', async () => {
		const key = await createApiKey(a, alice, ['sessions:read'])
		expect((await api(onB).get('/sessions', key.headers)).status).toBe(200)
		expect((await revoke(key.id)).status).toBe(204)
		await expectError(await api(onB).get('/sessions', key.headers), 401, 'INVALID_API_KEY')
	})

	it('closes a WebSocket opened on one instance when the key is revoked on another', async () => {
		const key = await createApiKey(a, alice, ['sessions:read', 'messages:read'])
		const socket = openSocket(onB.url, {}, key.headers)
		await socket.next((m) => m.type === 'session.snapshot')
		expect((await revoke(key.id)).status).toBe(204)
		expect(await socket.closed).toEqual({ code: 4401, reason: 'API key revoked' })
	})

	it('shares the per-key rate limit between instances, and answers 429 with Retry-After past it', async () => {
		const key = await createApiKey(a, alice, ['sessions:read'])
		const other = await createApiKey(a, alice, ['sessions:read'])
		for (const target of [a, onB, a, onB]) expect((await api(target).get('/sessions', key.headers)).status).toBe(200)
		const limited = await api(onB).get('/sessions', key.headers)
		const error = await expectError(limited, 429, 'RATE_LIMITED')
		expect(error.message).toMatch(/^Too many requests with this API key \(API_KEY_RATE_LIMIT\); retry in \d+ s$/)
		expect(Number(limited.headers.get('retry-after'))).toBeGreaterThan(0)
		// The limit is per key, not per client or tenant.
		expect((await api(a).get('/sessions', other.headers)).status).toBe(200)
	})

	it('closes a WebSocket opened with a key past its rate limit with 4429, saying when to retry', async () => {
		const key = await createApiKey(a, alice, ['sessions:read', 'messages:read'])
		for (let i = 0; i < 4; i++) expect((await api(onB).get('/chats', key.headers)).status).not.toBe(429)
		const refused = await openSocket(a.url, {}, key.headers).closed
		expect(refused.code).toBe(4429)
		expect(refused.reason).toMatch(/retry in \d+ s/)
	})

	it('writes when a key was last used at shutdown, without waiting for the flush interval', async () => {
		const key = await createApiKey(a, alice, ['sessions:read'])
		const before = Date.now()
		expect((await api(onB).get('/sessions', key.headers)).status).toBe(200)
		const sql = postgres(a.database.url, { max: 1, onnotice: () => {} })
		try {
			const [unflushed] = await sql<{ last_used_at: Date | null }[]>`select last_used_at from api_keys where id = ${key.id}`
			expect(unflushed!.last_used_at).toBeNull()
			await b.stop()
			const [flushed] = await sql<{ last_used_at: Date | null }[]>`select last_used_at from api_keys where id = ${key.id}`
			expect(flushed!.last_used_at!.getTime()).toBeGreaterThanOrEqual(before - 1000)
		} finally {
			await sql.end()
			b = await startServer(a.config, createLogger(a.config))
		}
	})
})
