import { afterAll, beforeAll, describe, expect, it } from 'bun:test'
import { and, eq } from 'drizzle-orm'
import { sessionChats, sessionMessages } from '../../src/db/schema'
import { until } from '../helpers/until'
import { startHarness, type RunnerHarness } from './harness'

let h: RunnerHarness

beforeAll(async () => {
	h = await startHarness({ standIn: { initialHistory: { chats: 3, messagesPerChat: 4 } } })
}, 30_000)
afterAll(async () => {
	await h?.close()
}, 30_000)

describe('pairing a session', () => {
	it('shows a QR, and once the phone scans it the session connects with its account', async () => {
		const ref = await h.createSession()
		const { ms } = await h.pairByQr(ref, '15551000001', 'Ada')
		console.log(`start command → connected (QR scanned at once): ${ms.toFixed(0)} ms`)

		const session = await h.untilStatus(ref, 'connected')
		expect(session).toMatchObject({ jid: '15551000001@s.whatsapp.net', phoneNumber: '15551000001', qr: null, lastError: null })
		expect(session.lid).toEndWith('@lid')
		expect(await h.hasCreds(ref)).toBe(true)
		// Pairing ends with WhatsApp's 515 "restart required": recorded, then a new socket connected.
		const restart = h.eventsOf(ref, 'session.status.disconnected')
		expect(restart).toHaveLength(1)
		expect(restart[0]!.data).toMatchObject({ status: 'reconnecting', reason: 'restart_required', code: 515 })
	}, 20_000)

	it('the QR reaches the session row, with its expiry', async () => {
		const ref = await h.createSession()
		await h.command('session.start', ref, {})
		const qr = await h.waitForEvent(ref, 'session.qr.updated')
		expect(qr.data.qr).toStartWith('https://wa.me/settings/linked_devices#')
		// Measured from when the QR was shown, not from whenever the test reads it.
		expect(Date.parse(qr.data.expiresAt!) - Date.parse(qr.occurredAt)).toBeGreaterThan(50_000)
		const session = await h.untilStatus(ref, 'qr')
		expect(session.qr).toBe(qr.data.qr)
		await h.command('session.stop', ref, {})
		await h.untilStatus(ref, 'stopped')
	}, 20_000)

	it('pairs by code when the session has a phone number', async () => {
		const ref = await h.createSession({ phoneNumber: '15551000002' })
		const after = h.events.length
		await h.command('session.start', ref, {})
		const { data } = await h.waitForEvent(ref, 'session.pairing_code.updated', { after })
		expect(data.code).toMatch(/^[A-Z0-9]{8}$/)
		expect((await h.untilStatus(ref, 'qr')).pairingCode).toBe(data.code)
		expect(h.eventsOf(ref, 'session.qr.updated', after)).toHaveLength(0)

		// The code event can overtake the stand-in reading the request that asked for it.
		await h.standIn.core.log.waitFor('pairing-code-requested', (e) => e.phone === '15551000002')
		await h.standIn.enterPairingCode('15551000002', data.code)
		await h.waitForEvent(ref, 'session.status.connected', { after })
		expect(await h.untilStatus(ref, 'connected')).toMatchObject({ jid: '15551000002@s.whatsapp.net', pairingCode: null })
	}, 20_000)

	it('a socket that drops before the code is typed in starts over with fresh creds and a new code', async () => {
		const ref = await h.createSession({ phoneNumber: '15551000004' })
		const after = h.events.length
		await h.command('session.start', ref, {})
		const first = await h.waitForEvent(ref, 'session.pairing_code.updated', { after })
		await h.standIn.core.log.waitFor('pairing-code-requested', (e) => e.phone === '15551000004')
		const asked = h.standIn.position
		const registering = [...h.standIn.core.connections].filter((c) => c.registration?.codePairing?.phone === '15551000004')
		expect(registering).toHaveLength(1)
		registering[0]!.close()

		const drop = await h.waitForEvent(ref, 'session.status.disconnected', { after })
		expect(drop.data).toMatchObject({ status: 'reconnecting', code: 428 })
		const second = await h.waitForEvent(ref, 'session.pairing_code.updated', { after, where: (e) => e.id !== first.id })
		expect(second.data.code).not.toBe(first.data.code)
		await h.standIn.core.log.waitFor('pairing-code-requested', (e) => e.phone === '15551000004', { after: asked })
		await h.standIn.enterPairingCode('15551000004', second.data.code)
		await h.waitForEvent(ref, 'session.status.connected', { after })
	}, 20_000)

	it("persists the phone's initial history: messages, chats and their last activity", async () => {
		const ref = await h.createSession()
		await h.pairByQr(ref, '15551000003', 'Bea')
		const sync = await h.waitForEvent(ref, 'session.history.sync', { where: (e) => e.data.messages.length > 0 })
		expect(sync.data).toMatchObject({ syncType: 'INITIAL_BOOTSTRAP', progress: 100, part: { index: 0, count: 1 } })
		expect(sync.data.messages).toHaveLength(12)
		expect(sync.data.chats).toHaveLength(3)

		const count = await until(async () => {
			const rows = await h.database.db
				.select({ id: sessionMessages.messageId })
				.from(sessionMessages)
				.where(eq(sessionMessages.sessionId, ref.sessionId))
			return rows.length === 12 && rows.length
		}, '12 history messages in Postgres')
		expect(count).toBe(12)
		const chats = await h.database.db.select().from(sessionChats).where(eq(sessionChats.sessionId, ref.sessionId))
		expect(chats).toHaveLength(3)
		for (const chat of chats) {
			expect(chat.jid).toEndWith('@s.whatsapp.net')
			expect(chat.lastMessageAt).toBeInstanceOf(Date)
		}
		const [one] = await h.database.db
			.select()
			.from(sessionMessages)
			.where(and(eq(sessionMessages.sessionId, ref.sessionId), eq(sessionMessages.messageId, sync.data.messages[0]!.key.id)))
		expect(one!.text).toBe(sync.data.messages[0]!.text!)
		expect(one!.timestamp!.getTime() / 1000).toBe(sync.data.messages[0]!.timestamp)
	}, 20_000)
})
