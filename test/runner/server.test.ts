import { afterAll, beforeAll, describe, expect, it } from 'bun:test'
import { eq } from 'drizzle-orm'
import { sessions, tenants } from '../../src/db/schema'
import { startStandIn, type StandIn } from '@switchboard/standin'
import { command, type AnyEnvelope } from '../../src/core/catalogue'
import { startTestApp, type TestApp } from '../helpers/app'
import { until } from '../helpers/until'

// The server as deployed: the runner in its own Bun Worker, which must point its own copy of
// Baileys at WA_WEBSOCKET_URL and trust WA_ROOT_PUBLIC_KEY (a module global per realm).
let standIn: StandIn
let app: TestApp
let closed = false

beforeAll(async () => {
	standIn = await startStandIn({ onError: () => {} })
	app = await startTestApp({ ROLES: 'api,runner,consumer', WA_WEBSOCKET_URL: standIn.wsUrl, WA_ROOT_PUBLIC_KEY: standIn.rootPublicKey })
	await app.server.roles.ready
}, 30_000)
afterAll(async () => {
	if (!closed) await app?.close()
	await standIn?.stop()
}, 30_000)

describe('the runner role in the server', () => {
	it('runs in a worker that honours WA_WEBSOCKET_URL and WA_ROOT_PUBLIC_KEY: QR, scan, connected', async () => {
		expect(app.server.roles.started).toContainEqual({ role: 'runner', mode: 'worker' })
		const db = app.server.database.db
		const tenantId = Bun.randomUUIDv7()
		const sessionId = Bun.randomUUIDv7()
		await db.insert(tenants).values({ id: tenantId, name: 'served' })
		await db.insert(sessions).values({ id: sessionId, tenantId, name: 'served', status: 'starting' })
		const row = async () => (await db.select().from(sessions).where(eq(sessions.id, sessionId)))[0]!

		await app.server.bus.publish([command('session.start', { tenantId, sessionId }, {}) as AnyEnvelope])
		const { qr } = await until(async () => {
			const r = await row()
			return r.status === 'qr' && r
		}, 'a QR on the session')
		const device = await standIn.scanQr(qr!, '15555000001')
		expect(
			await until(async () => {
				const r = await row()
				return r.status === 'connected' && r
			}, 'connected'),
		).toMatchObject({ jid: '15555000001@s.whatsapp.net' })

		// Shutting the server down closes the socket without unlinking the device.
		await app.close()
		closed = true
		await standIn.waitForDisconnect(device.jid)
		expect(standIn.device(device.jid)).toMatchObject({ live: 0, removed: undefined })
	}, 20_000)
})
