import { afterAll, beforeAll, describe, expect, it } from 'bun:test'
import { type EmbeddedServer, startEmbeddedServer } from '../helpers/embedded'
import type { Config } from '../../src/config'
import { tenants, users } from '../../src/db/schema'
import { systemClock } from '../../src/lib/clock'
import { createAccessTokens } from '../../src/modules/auth/access-tokens'
import type { RunningServer } from '../../src/server'
import { openSocket } from '../helpers/ws'
import { addSession, publish, qrEvent } from './helpers'

// Embedded mode: PGlite and the in-process bus, the consumer inline; the same socket contract.
let embedded: EmbeddedServer
let config: Config
let server: RunningServer
let url: string

beforeAll(async () => {
	embedded = await startEmbeddedServer('realtime', { ROLES: 'api,runner,consumer' })
	server = embedded.server
	config = embedded.config
	url = embedded.url
}, 60_000)
afterAll(async () => {
	await embedded?.close()
})

/** A tenant and its owner written directly, with a token signed by the app's key (PGlite has no second client for the account helpers). */
async function owner() {
	const [tenant] = await server.database.db.insert(tenants).values({ name: 'embedded' }).returning()
	const [user] = await server.database.db
		.insert(users)
		.values({ tenantId: tenant!.id, email: `embedded-${Bun.randomUUIDv7()}@example.test`, passwordHash: 'unused', verifiedAt: new Date() })
		.returning()
	const tokens = createAccessTokens({ secret: config.jwtSecret, ttlSeconds: 600, clock: systemClock })
	return { tenantId: tenant!.id, accessToken: await tokens.sign({ sub: user!.id, tid: tenant!.id, ver: 0 }) }
}

describe('/ws/sessions in embedded mode', () => {
	it('sends the snapshot, the live events and a replay on the in-process bus', async () => {
		const { tenantId, accessToken } = await owner()
		const session = await addSession(server, tenantId)
		const meta = { tenantId, sessionId: session.id }
		const [before] = await publish(server, qrEvent(meta, 'before'))
		const ws = openSocket(url, { accessToken })
		const snapshot = await ws.next()
		expect(snapshot).toMatchObject({ type: 'session.snapshot', id: before, data: { sessions: [{ id: session.id, status: 'qr', qr: 'before' }] } })
		const [live] = await publish(server, qrEvent(meta))
		expect((await ws.next()).id).toBe(live!)
		ws.close()
		await ws.closed

		const missed = await publish(server, qrEvent(meta), qrEvent(meta))
		const resumed = openSocket(url, { accessToken, since: live })
		expect([(await resumed.next()).id, (await resumed.next()).id]).toEqual(missed)
		resumed.close()
	})
})
