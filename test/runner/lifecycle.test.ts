import { afterAll, beforeAll, describe, expect, it } from 'bun:test'
import { eq } from 'drizzle-orm'
import { sessionAuthKeys } from '../../src/db/schema'
import { startHarness, type RunnerHarness, type SessionRef } from './harness'

let h: RunnerHarness

beforeAll(async () => {
	h = await startHarness()
}, 30_000)
afterAll(async () => {
	await h?.close()
}, 30_000)

async function paired(phone: string): Promise<{ ref: SessionRef; device: string }> {
	const ref = await h.createSession()
	await h.pairByQr(ref, phone)
	return { ref, device: `${phone}:1@s.whatsapp.net` }
}

const keyCount = async (ref: SessionRef) =>
	(await h.database.db.select({ id: sessionAuthKeys.keyId }).from(sessionAuthKeys).where(eq(sessionAuthKeys.sessionId, ref.sessionId))).length

describe('stop and start', () => {
	it('stop closes the socket without logging out; start logs in again with the stored creds, no QR', async () => {
		const { ref, device } = await paired('15553000001')
		const registrations = h.standIn.stats().registrations
		await h.stop(ref)
		await h.standIn.waitForDisconnect(device)
		expect(h.standIn.device(device)).toMatchObject({ live: 0, removed: undefined })
		expect(await h.hasCreds(ref)).toBe(true)

		const after = h.events.length
		const started = performance.now()
		await h.command('session.start', ref, {})
		await h.waitForEvent(ref, 'session.status.connected', { after })
		console.log(`start command → connected (stored creds): ${(performance.now() - started).toFixed(0)} ms`)
		expect(h.eventsOf(ref, 'session.qr.updated', after)).toHaveLength(0)
		expect(h.standIn.stats().registrations).toBe(registrations)
		expect(h.standIn.device(device).logins).toBe(2)
		await h.stop(ref)
	}, 20_000)

	it('a start for a session that already runs changes nothing', async () => {
		const { ref, device } = await paired('15553000002')
		const after = h.events.length
		await h.command('session.start', ref, {})
		await h.stop(ref)
		expect(h.eventsOf(ref, 'session.status.connected', after)).toHaveLength(0)
		expect(h.standIn.device(device).logins).toBe(1)
	}, 20_000)
})

describe('logout', () => {
	it('unlinks the device at WhatsApp and deletes creds and keys', async () => {
		const { ref, device } = await paired('15553000003')
		expect(await keyCount(ref)).toBeGreaterThan(0)
		const after = h.events.length
		await h.command('session.logout', ref, {})
		await h.standIn.waitForLogout(device)
		const event = await h.waitForEvent(ref, 'session.status.disconnected', { after })
		expect(event.data).toMatchObject({ status: 'logged_out', reason: 'logged_out' })
		expect(await h.untilStatus(ref, 'logged_out')).toMatchObject({ lastError: 'logged out on request' })
		expect(await h.hasCreds(ref)).toBe(false)
		expect(await keyCount(ref)).toBe(0)
	}, 20_000)

	it('a stopped session is connected just long enough to log out', async () => {
		const { ref, device } = await paired('15553000004')
		await h.stop(ref)
		await h.command('session.logout', ref, {})
		await h.standIn.waitForLogout(device)
		await h.untilStatus(ref, 'logged_out')
		expect(await h.hasCreds(ref)).toBe(false)
	}, 20_000)
})

describe('disconnects', () => {
	it('a dropped socket (428) reconnects after a backoff, without a QR', async () => {
		const { ref, device } = await paired('15553000005')
		const after = h.events.length
		expect(h.standIn.kick(device, 'close')).toBe(1)
		const drop = await h.waitForEvent(ref, 'session.status.disconnected', { after })
		expect(drop.data).toMatchObject({ status: 'reconnecting', reason: 'connection_closed', code: 428 })
		expect(drop.data.message).toMatch(/attempt 1 of 5, the next at \d\d:\d\d:\d\d UTC$/)
		await h.waitForEvent(ref, 'session.status.connected', { after })
		expect(h.standIn.device(device).logins).toBe(2)
		expect(h.eventsOf(ref, 'session.qr.updated', after)).toHaveLength(0)
		await h.stop(ref)
	}, 20_000)

	it('a server error (503) is retried the same way', async () => {
		const { ref, device } = await paired('15553000006')
		const after = h.events.length
		h.standIn.kick(device, 'server-error')
		const drop = await h.waitForEvent(ref, 'session.status.disconnected', { after })
		expect(drop.data).toMatchObject({ status: 'reconnecting', reason: 'unavailable_service', code: 503 })
		await h.waitForEvent(ref, 'session.status.connected', { after })
		await h.stop(ref)
	}, 20_000)

	it('being replaced by another connection (440) marks the session failed and does not fight back', async () => {
		const { ref, device } = await paired('15553000007')
		const after = h.events.length
		h.standIn.kick(device, 'replaced')
		const event = await h.waitForEvent(ref, 'session.status.disconnected', { after })
		// The decision is made when the socket closes: a retry would have announced `reconnecting` first.
		expect(event.data).toMatchObject({ status: 'failed', reason: 'connection_replaced', code: 440 })
		expect(h.eventsOf(ref, 'session.status.disconnected', after)).toHaveLength(1)
		const session = await h.untilStatus(ref, 'failed')
		expect(session.lastError).toContain('another connection uses these credentials')
		expect(session.lastDisconnectCode).toBe(440)
		expect(h.standIn.device(device)).toMatchObject({ logins: 1, live: 0 })
		expect(await h.hasCreds(ref)).toBe(true)
	}, 20_000)

	it('a device removed on the phone (401) is logged out and its creds deleted', async () => {
		const { ref, device } = await paired('15553000008')
		const after = h.events.length
		h.standIn.revoke(device)
		const event = await h.waitForEvent(ref, 'session.status.disconnected', { after })
		expect(event.data).toMatchObject({ status: 'logged_out', reason: 'logged_out', code: 401 })
		// Said to a person, with WhatsApp's own words kept beside it.
		expect(event.data.message).toStartWith('the phone unlinked this device, or WhatsApp ended its login; start the session to link it again')
		expect(event.data.message).toContain('(Stream Errored (conflict))')
		await h.untilStatus(ref, 'logged_out')
		expect(await h.hasCreds(ref)).toBe(false)
		expect(await keyCount(ref)).toBe(0)
	}, 20_000)
})
