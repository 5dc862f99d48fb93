import { afterAll, beforeAll, describe, expect, it } from 'bun:test'
import { compareIds } from '../../src/bus'
import { DOMAIN_EVENTS } from '../../src/core/streams'
import { createLogger } from '../../src/logger'
import { startServer, type RunningServer } from '../../src/server'
import { api, createVerifiedUser, type LoggedInUser } from '../helpers/accounts'
import type { TestApp } from '../helpers/app'
import { openSocket } from '../helpers/ws'
import { addSession, publish, qrEvent, startRealtimeApp, type Meta } from './helpers'

// Two API instances on one database and one Redis prefix, as behind a load balancer without
// sticky sessions; each tails the stream itself and serves its own sockets.
let a: TestApp
let b: RunningServer
const urlOf = (server: RunningServer) => `http://127.0.0.1:${server.port}`
const startAnother = () => startServer(a.config, createLogger(a.config))

beforeAll(async () => {
	a = await startRealtimeApp()
	b = await startAnother()
})
afterAll(async () => {
	await b.stop()
	await a.close()
})

async function tenant(): Promise<{ owner: LoggedInUser; meta: Meta }> {
	const owner = await createVerifiedUser(a)
	const session = await addSession(a, owner.user.tenantId)
	return { owner, meta: { tenantId: owner.user.tenantId, sessionId: session.id } }
}

const tenantEventsAfter = async (since: string, tenantId: string) =>
	(await a.server.bus.read(DOMAIN_EVENTS, { after: since, count: 100_000 })).filter((e) => e.envelope.tenantId === tenantId).map((e) => e.id)

describe('several API instances', () => {
	it('deliver the same events to sockets on either instance', async () => {
		const { owner, meta } = await tenant()
		const onA = openSocket(a.url, { accessToken: owner.accessToken })
		const onB = openSocket(urlOf(b), { accessToken: owner.accessToken })
		await Promise.all([onA.next(), onB.next()])
		const published = await publish(a, qrEvent(meta), qrEvent({ tenantId: Bun.randomUUIDv7(), sessionId: meta.sessionId }), qrEvent(meta))
		for (const ws of [onA, onB]) {
			expect([(await ws.next()).id, (await ws.next()).id]).toEqual([published[0], published[2]])
			ws.close()
		}
	})

	it('close a user’s sockets on every instance at logout-all', async () => {
		const { owner } = await tenant()
		const onB = openSocket(urlOf(b), { accessToken: owner.accessToken })
		await onB.next()
		expect((await api(a).post('/auth/logout-all', undefined, owner.headers)).status).toBe(204)
		expect(await onB.closed).toEqual({ code: 4401, reason: 'signed out everywhere (logout-all)' })
	})

	it('let a client resume on an instance that started after it left, replaying from the stream', async () => {
		const { owner, meta } = await tenant()
		const first = openSocket(a.url, { accessToken: owner.accessToken })
		await first.next()
		const [seen] = await publish(a, qrEvent(meta))
		const last = await first.next((m) => m.id === seen)
		first.close()
		await first.closed
		// More than one replay page, interleaved with another tenant's events.
		const other = { tenantId: Bun.randomUUIDv7(), sessionId: Bun.randomUUIDv7() }
		for (let i = 0; i < 7; i++) await publish(a, ...Array.from({ length: 100 }, (_, j) => qrEvent(j % 3 ? meta : other)))

		const c = await startAnother() // its hub remembers nothing from before it started
		try {
			const resumed = openSocket(urlOf(c), { accessToken: owner.accessToken, since: last.id })
			const missed = await tenantEventsAfter(last.id!, meta.tenantId)
			const replayed = await resumed.collect((m) => m.id === missed.at(-1))
			expect(replayed.map((m) => m.id)).toEqual(missed)
			const [live] = await publish(a, qrEvent(meta))
			expect((await resumed.next()).id).toBe(live!)
			resumed.close()
		} finally {
			await c.stop()
		}
	})

	it('close their sockets with 1001 when shutting down, and the client resumes on another instance', async () => {
		const { owner, meta } = await tenant()
		// A drain that waited for the open socket would outlast the test's own timeout: the stop
		// returns only because the socket was closed first.
		const c = await startServer({ ...a.config, shutdownTimeoutMs: 600_000 }, createLogger(a.config))
		const ws = openSocket(urlOf(c), { accessToken: owner.accessToken })
		const snapshot = await ws.next()
		await c.stop()
		expect(await ws.closed).toEqual({ code: 1001, reason: 'server shutting down; reconnect with since' })

		const [meanwhile] = await publish(a, qrEvent(meta))
		const resumed = openSocket(a.url, { accessToken: owner.accessToken, since: snapshot.id })
		expect((await resumed.next()).id).toBe(meanwhile!)
		expect(compareIds(meanwhile!, snapshot.id!)).toBeGreaterThan(0)
		resumed.close()
	})
})
