import { afterAll, beforeAll, describe, expect, it } from 'bun:test'
import { composeApi } from '../../src/server'
import { loadConfig } from '../../src/config'
import { openPostgres, type Database } from '../../src/db/client'
import { createLogger } from '../../src/logger'
import { createVerifiedUser, type LoggedInUser } from '../helpers/accounts'
import type { TestApp } from '../helpers/app'
import { createTestDatabase, type TestDatabase } from '../helpers/database'

// The app plus probe routes that use the `auth` macros the way other modules will: `auth` on a
// guard, `socketAuth` on a WebSocket (token in the query, since browsers cannot set headers there).
let testDb: TestDatabase
let database: Database
let target: TestApp
let stop: () => Promise<unknown>

beforeAll(async () => {
	testDb = await createTestDatabase()
	const config = loadConfig({ NODE_ENV: 'test', LOG_LEVEL: 'silent', TRUST_PROXY_HOPS: '1' })
	database = openPostgres({ url: testDb.url })
	const api = composeApi(config, createLogger(config), { database, redis: null, bus: null, relay: null })
	const app = api.app
		.guard({ auth: 'sessions:read' }, (guarded) => guarded.get('/probe/whoami', ({ user, tenantId }) => ({ userId: user.id, tenantId })))
		.ws('/probe/ws', {
			socketAuth: 'messages:read',
			open(ws) {
				ws.send(JSON.stringify({ userId: ws.data.user.id, tenantId: ws.data.tenantId }))
			},
		})
		.listen({ port: 0, hostname: '127.0.0.1' })
	stop = async () => {
		await app.stop(true)
		await api.close()
	}
	// Enough of a TestApp for the account helpers: a URL and the database.
	target = { url: `http://127.0.0.1:${app.server!.port}`, database: testDb } as TestApp
})
afterAll(async () => {
	await stop()
	await database.close()
	await testDb.drop()
})

function openSocket(query: string): Promise<{ message?: string; closed?: boolean }> {
	const ws = new WebSocket(`${target.url.replace('http', 'ws')}/probe/ws${query}`)
	return new Promise((resolve) => {
		ws.onmessage = (e) => {
			resolve({ message: String(e.data) })
			ws.close()
		}
		ws.onerror = () => resolve({ closed: true })
		ws.onclose = () => resolve({ closed: true })
	})
}

describe('the auth macro', () => {
	let alice: LoggedInUser
	beforeAll(async () => {
		alice = await createVerifiedUser(target)
	})

	it('resolves the user and tenant on a guarded route', async () => {
		const res = await fetch(`${target.url}/probe/whoami`, { headers: alice.headers })
		expect(await res.json()).toEqual({ userId: alice.user.id, tenantId: alice.user.tenantId })
	})

	it('answers 401 on a guarded route without a token', async () => {
		expect((await fetch(`${target.url}/probe/whoami`)).status).toBe(401)
	})

	it('resolves the user and tenant on a WebSocket from ?accessToken=', async () => {
		const { message } = await openSocket(`?accessToken=${alice.accessToken}`)
		expect(JSON.parse(message!)).toEqual({ userId: alice.user.id, tenantId: alice.user.tenantId })
	})

	it('refuses the WebSocket upgrade without a valid token', async () => {
		expect(await openSocket('')).toEqual({ closed: true })
		expect(await openSocket('?accessToken=nope')).toEqual({ closed: true })
	})

	it('works without Redis: logout-all still kills the token at once (in-process revocation)', async () => {
		const bob = await createVerifiedUser(target)
		expect((await fetch(`${target.url}/probe/whoami`, { headers: bob.headers })).status).toBe(200)
		await fetch(`${target.url}/auth/logout-all`, { method: 'POST', headers: bob.headers })
		expect((await fetch(`${target.url}/probe/whoami`, { headers: bob.headers })).status).toBe(401)
	})
})
