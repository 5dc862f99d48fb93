import { afterAll, beforeAll, describe, expect, it } from 'bun:test'
import { rmSync } from 'node:fs'
import { eq } from 'drizzle-orm'
import { startStandIn, type StandIn } from '@switchboard/standin'
import { type AnyEnvelope, command } from '../../src/core/catalogue'
import { sessionMessages, sessions, tenants } from '../../src/db/schema'
import { createLogger } from '../../src/logger'
import { type RunningServer, startServer } from '../../src/server'
import { embeddedConfig, embeddedDataDir } from '../helpers/embedded'
import { until } from '../helpers/until'

/**
 * Embedded mode keeps its event streams in the process. A graceful stop (SIGTERM, Ctrl-C) first
 * lets the roles execute and store what the streams hold: sends accepted before the stop go out,
 * and what they caused is in the database when the server starts again.
 */

const PHONE = '15556100001'
const FRIEND = '15556100002@s.whatsapp.net'
let standIn: StandIn
let dataDir: string
const start = () => {
	const config = embeddedConfig(dataDir, { WA_WEBSOCKET_URL: standIn.wsUrl, WA_ROOT_PUBLIC_KEY: standIn.rootPublicKey })
	return startServer(config, createLogger(config))
}

beforeAll(async () => {
	dataDir = await embeddedDataDir('stop')
	standIn = await startStandIn({ onError: () => {} })
})
afterAll(async () => {
	await standIn?.stop()
	if (dataDir) rmSync(dataDir, { recursive: true, force: true })
})

describe('stopping an embedded server', () => {
	it('sends what it accepted before it stops, and stores what the sends caused', async () => {
		let server: RunningServer = await start()
		const db = server.database.db
		const ref = { tenantId: Bun.randomUUIDv7(), sessionId: Bun.randomUUIDv7() }
		await db.insert(tenants).values({ id: ref.tenantId, name: 'stop' })
		await db.insert(sessions).values({ id: ref.sessionId, tenantId: ref.tenantId, name: 'stop', status: 'starting' })
		await server.bus.publish([command('session.start', ref, {}) as AnyEnvelope])
		const qr = await until(async () => (await db.select().from(sessions).where(eq(sessions.id, ref.sessionId)))[0]?.qr, 'a QR')
		await standIn.scanQr(qr!, PHONE)
		await until(async () => (await db.select().from(sessions).where(eq(sessions.id, ref.sessionId)))[0]?.status === 'connected', 'connected')

		// Accepted (relayed into the in-process streams), and the stop asked for at once.
		const ids = Array.from({ length: 40 }, (_, i) => `3EB0${String(i).padStart(18, '0')}`)
		await server.bus.publish(
			ids.map(
				(messageId, i) => command('session.messages.send', ref, { messageId, to: FRIEND, content: { text: `before the stop ${i}` } }) as AnyEnvelope,
			),
		)
		await server.stop()

		const sent = new Set(standIn.sent(PHONE).map((m) => m.id))
		expect(ids.filter((id) => !sent.has(id))).toEqual([])
		server = await start()
		try {
			const stored = await server.database.db
				.select({ id: sessionMessages.messageId })
				.from(sessionMessages)
				.where(eq(sessionMessages.sessionId, ref.sessionId))
			expect(stored.map((m) => m.id).sort()).toEqual(ids)
		} finally {
			await server.stop()
		}
	}, 60_000)
})
