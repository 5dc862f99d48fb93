import { afterAll, beforeAll, describe, expect, it } from 'bun:test'
import { sql } from 'drizzle-orm'
import { api, createVerifiedUser } from '../helpers/accounts'
import type { TestApp } from '../helpers/app'
import { createTestClock } from '../helpers/clock'
import { openSocket } from '../helpers/ws'
import { publish, qrEvent, startRealtimeApp } from './helpers'

// Token lifetimes run on the app's clock, which moves only when a test says so; the socket's
// expiry timer is armed from that clock, so moving it before connecting shortens the wait.
const clock = createTestClock()
const SECOND = 1_000
let app: TestApp

beforeAll(async () => {
	app = await startRealtimeApp({ ACCESS_TOKEN_TTL_SECONDS: '60' }, { clock })
})
afterAll(async () => {
	await app.close()
})

describe('/ws/sessions authentication', () => {
	it('closes with 4401 and a reason when the access token is missing', async () => {
		const ws = openSocket(app.url)
		expect(await ws.closed).toEqual({ code: 4401, reason: 'access token or API key missing' })
		expect(ws.messages).toEqual([])
	})

	it('takes a browser’s access token from the subprotocol it offers, out of the URL, and answers with that protocol', async () => {
		const alice = await createVerifiedUser(app)
		const ws = openSocket(app.url, {}, undefined, ['switchboard.access-token', alice.accessToken])
		expect((await ws.next()).type).toBe('session.snapshot')
		expect(ws.protocol).toBe('switchboard.access-token')
		ws.close()
		const forged = openSocket(app.url, {}, undefined, ['switchboard.access-token', 'eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ4In0.bad-signature'])
		expect(await forged.closed).toEqual({ code: 4401, reason: 'access token invalid, expired or revoked' })
	})

	it('closes with 4401 when the access token is not one of ours', async () => {
		const ws = openSocket(app.url, { accessToken: 'eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ4In0.bad-signature' })
		expect(await ws.closed).toEqual({ code: 4401, reason: 'access token invalid, expired or revoked' })
	})

	it('closes with 4401 when the access token has expired', async () => {
		const alice = await createVerifiedUser(app)
		clock.advance(61 * SECOND)
		const ws = openSocket(app.url, { accessToken: alice.accessToken })
		expect(await ws.closed).toEqual({ code: 4401, reason: 'access token invalid, expired or revoked' })
	})

	it('closes an open socket with 4401 when its access token expires', async () => {
		const alice = await createVerifiedUser(app)
		clock.advance(58.5 * SECOND)
		const ws = openSocket(app.url, { accessToken: alice.accessToken })
		expect((await ws.next()).type).toBe('session.snapshot')
		expect(await ws.closed).toEqual({ code: 4401, reason: 'access token expired' })
	})

	it('closes every open socket of a user with 4401 at logout-all, and no one else’s', async () => {
		const alice = await createVerifiedUser(app)
		const bob = await createVerifiedUser(app)
		const first = openSocket(app.url, { accessToken: alice.accessToken })
		const second = openSocket(app.url, { accessToken: alice.accessToken })
		const bobs = openSocket(app.url, { accessToken: bob.accessToken })
		await Promise.all([first.next(), second.next(), bobs.next()])
		expect((await api(app).post('/auth/logout-all', undefined, alice.headers)).status).toBe(204)
		expect(await first.closed).toEqual({ code: 4401, reason: 'signed out everywhere (logout-all)' })
		expect(await second.closed).toEqual({ code: 4401, reason: 'signed out everywhere (logout-all)' })
		// Bob's socket still delivers what happens after alice's sockets closed.
		const [id] = await publish(app, qrEvent({ tenantId: bob.user.tenantId, sessionId: Bun.randomUUIDv7() }))
		expect((await bobs.next()).id).toBe(id!)
		bobs.close()
	})

	it('closes a user’s open socket with 4401 when the user is removed from the database', async () => {
		const alice = await createVerifiedUser(app)
		const ws = openSocket(app.url, { accessToken: alice.accessToken })
		expect((await ws.next()).type).toBe('session.snapshot')
		await app.server.database.db.execute(sql`delete from users where id = ${alice.user.id}`)
		expect(await ws.closed).toEqual({ code: 4401, reason: 'the user no longer exists' })
	})

	it('refuses the token again after logout-all', async () => {
		const alice = await createVerifiedUser(app)
		await api(app).post('/auth/logout-all', undefined, alice.headers)
		const ws = openSocket(app.url, { accessToken: alice.accessToken })
		expect(await ws.closed).toEqual({ code: 4401, reason: 'access token invalid, expired or revoked' })
	})
})
