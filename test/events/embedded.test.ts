import { afterAll, beforeAll, describe, expect, it } from 'bun:test'
import { type EmbeddedServer, startEmbeddedServer } from '../helpers/embedded'
import { enqueue } from '../../src/bus/outbox'
import type { RunningServer } from '../../src/server'
import { until } from '../helpers/until'
import { countMessages, createSession, event, historyBatches, key, message, snapshot } from './fixtures'

// Embedded mode: PGlite, the in-process bus, roles inline on the main thread.
let embedded: EmbeddedServer
let server: RunningServer

beforeAll(async () => {
	embedded = await startEmbeddedServer('events', { ROLES: 'api,runner,consumer' })
	server = embedded.server
}, 60_000)
afterAll(async () => {
	await embedded?.close()
})

describe('the event backbone in embedded mode', () => {
	it('runs the roles inline on the in-process bus', () => {
		expect(server.bus.kind).toBe('memory')
		expect(server.database.kind).toBe('pglite')
		expect(server.roles.started).toEqual([
			{ role: 'consumer', mode: 'inline' },
			{ role: 'runner', mode: 'inline' },
		])
	})

	it('persists events from the outbox into PGlite, idempotently', async () => {
		const db = server.database.db
		const meta = await createSession(db, 'embedded')
		const events = [
			event(meta, 'session.status.connected', { jid: '4915100000099@s.whatsapp.net' }),
			event(meta, 'session.messages.update', { updates: [{ key: key('E1'), status: 4 }] }),
			event(meta, 'session.messages.upsert', { type: 'notify', messages: [message('E1', { status: 2 })] }),
			...historyBatches(meta, 1_000),
		]
		await db.transaction((tx) => enqueue(tx, events))
		server.relay!.nudge()
		await until(async () => (await countMessages(db, meta.sessionId)) === 1_001, '1 001 messages in PGlite')
		const once = await snapshot(db, meta.sessionId)
		expect(once.session).toMatchObject({ status: 'connected', jid: '4915100000099@s.whatsapp.net' })
		expect(once.messages.find((m) => m.messageId === 'E1')).toMatchObject({ status: 4, text: 'text of E1' })

		const marker = event(meta, 'session.chats.upsert', { chats: [{ jid: 'marker@s.whatsapp.net' }] })
		await server.bus.publish([...events, marker])
		await until(async () => (await snapshot(db, meta.sessionId)).chats.some((c) => c.jid === 'marker@s.whatsapp.net'), 'the marker')
		const twice = await snapshot(db, meta.sessionId)
		twice.chats = twice.chats.filter((c) => c.jid !== 'marker@s.whatsapp.net')
		expect(twice).toEqual(once)
	}, 30_000)
})
