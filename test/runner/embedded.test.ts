import { afterAll, beforeAll, describe, expect, it } from 'bun:test'
import { type EmbeddedServer, startEmbeddedServer } from '../helpers/embedded'
import { eq } from 'drizzle-orm'
import { sessionAuth, sessions, tenants } from '../../src/db/schema'
import { command, type AnyEnvelope } from '../../src/core/catalogue'
import type { RunningServer } from '../../src/server'
import { startStandIn, type StandIn } from '@switchboard/standin'
import { until } from '../helpers/until'

// Embedded mode: PGlite, the in-process bus, and the runner inline on the main thread.
let embedded: EmbeddedServer
let standIn: StandIn
let server: RunningServer

beforeAll(async () => {
	standIn = await startStandIn({ onError: () => {} })
	embedded = await startEmbeddedServer('runner', { WA_WEBSOCKET_URL: standIn.wsUrl, WA_ROOT_PUBLIC_KEY: standIn.rootPublicKey })
	server = embedded.server
}, 60_000)
afterAll(async () => {
	await embedded?.close()
	await standIn?.stop()
})

describe('the runner in embedded mode', () => {
	it('runs inline on PGlite and the in-process bus: QR, scan, connected, creds stored', async () => {
		expect(server.roles.started).toContainEqual({ role: 'runner', mode: 'inline' })
		const db = server.database.db
		const tenantId = Bun.randomUUIDv7()
		const sessionId = Bun.randomUUIDv7()
		await db.insert(tenants).values({ id: tenantId, name: 'embedded' })
		await db.insert(sessions).values({ id: sessionId, tenantId, name: 'embedded', status: 'starting' })
		const row = async () => (await db.select().from(sessions).where(eq(sessions.id, sessionId)))[0]!

		await server.bus.publish([command('session.start', { tenantId, sessionId }, {}) as AnyEnvelope])
		const { qr } = await until(async () => {
			const r = await row()
			return r.status === 'qr' && r
		}, 'a QR on the session')
		await standIn.scanQr(qr!, '15556000001')
		const connected = await until(async () => {
			const r = await row()
			return r.status === 'connected' && r
		}, 'connected')
		expect(connected.jid).toBe('15556000001@s.whatsapp.net')
		expect(await db.select({ id: sessionAuth.sessionId }).from(sessionAuth).where(eq(sessionAuth.sessionId, sessionId))).toHaveLength(1)
	}, 30_000)
})
