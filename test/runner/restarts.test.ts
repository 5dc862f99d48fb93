import { afterAll, beforeAll, describe, expect, it } from 'bun:test'
import { eq } from 'drizzle-orm'
import { createRunnerStore } from '../../src/db/runner-store'
import { sessionAuth, sessionMessages, sessions } from '../../src/db/schema'
import { until } from '../helpers/until'
import { startHarness, type RunnerHarness, type SessionRef } from './harness'

const PHONE = '15554000001'
const DEVICE = `${PHONE}:1@s.whatsapp.net`

let h: RunnerHarness
let ref: SessionRef

beforeAll(async () => {
	h = await startHarness()
	ref = await h.createSession()
	await h.pairByQr(ref, PHONE)
	// Until its first history sync is through, Baileys holds a reconnected socket's events for up to
	// 20 s waiting for history that will not come again; a real phone finishes that sync first too.
	await h.waitForEvent(ref, 'session.history.sync', { where: (e) => e.data.syncType === 'INITIAL_BOOTSTRAP' && !!e.data.part })
}, 30_000)
afterAll(async () => {
	await h?.close()
}, 30_000)

const storedCreds = async () =>
	(await h.database.db.select({ creds: sessionAuth.creds }).from(sessionAuth).where(eq(sessionAuth.sessionId, ref.sessionId)))[0]?.creds

describe('runner restarts', () => {
	it('a restarted runner resumes the running sessions it owns, with their stored creds and no QR', async () => {
		const after = h.events.length
		await h.stopRunner()
		const shutdown = await h.waitForEvent(ref, 'session.status.disconnected', { after })
		expect(shutdown.data).toMatchObject({ status: 'reconnecting', reason: 'runner_shutdown' })
		await h.standIn.waitForDisconnect(DEVICE)

		const started = performance.now()
		await h.startRunner()
		await h.waitForEvent(ref, 'session.status.connected', { after })
		console.log(`runner start → resumed session connected: ${(performance.now() - started).toFixed(0)} ms`)
		expect(h.eventsOf(ref, 'session.qr.updated', after)).toHaveLength(0)
		expect(h.standIn.device(DEVICE)).toMatchObject({ logins: 2, live: 1, maxLive: 1 })
		await h.untilStatus(ref, 'connected')
	}, 20_000)

	it('a send command delivered again after a restart is recognised by its stored message and not sent twice', async () => {
		const messageId = `3EB0${'A1'.repeat(9)}`
		const data = { messageId, to: '15554000099@s.whatsapp.net', content: { text: 'exactly once' } }
		await h.command('session.messages.send', ref, data)
		await h.standIn.waitForSent((m) => m.id === messageId)
		await until(() => h.message(ref, messageId), 'the stored message')

		const after = h.events.length
		await h.stopRunner()
		await h.startRunner()
		await h.waitForEvent(ref, 'session.status.connected', { after })
		await h.command('session.messages.send', ref, data)
		const probe = `3EB0${'B2'.repeat(9)}`
		await h.command('session.messages.send', ref, { ...data, messageId: probe })
		await h.standIn.waitForSent((m) => m.id === probe)
		expect(h.standIn.sent(PHONE).filter((m) => m.id === messageId)).toHaveLength(1)
	}, 20_000)

	it("sends a command again whose message is stored by its receipt alone: the runner died before the message's own event was out", async () => {
		const messageId = `3EB0${'C3'.repeat(9)}`
		const to = '15554000098@s.whatsapp.net'
		// WhatsApp's server receipt, stored before the message: the row a receipt makes, no content.
		await h.database.db.insert(sessionMessages).values({ sessionId: ref.sessionId, chatJid: to, messageId, fromMe: true, status: 2 })
		await h.command('session.messages.send', ref, { messageId, to, content: { text: 'not lost' } })
		await h.standIn.waitForSent((m) => m.id === messageId)
		const stored = await until(async () => {
			const row = await h.message(ref, messageId)
			return row?.kind && row
		}, 'the message itself stored')
		expect(stored).toMatchObject({ text: 'not lost', kind: 'text' })
	}, 20_000)

	it('does not resume a session whose desired state is stopped', async () => {
		const idle = await h.createSession()
		await h.database.db.update(sessions).set({ desiredState: 'stopped' }).where(eq(sessions.id, idle.sessionId))
		const after = h.events.length
		await h.stopRunner()
		await h.startRunner()
		await h.waitForEvent(ref, 'session.status.connected', { after })
		expect(h.events.slice(after).filter((e) => e.sessionId === idle.sessionId)).toHaveLength(0)
	}, 20_000)

	it('does not resume a failed session that needs someone: never paired (its QR codes went unscanned), or taken over by another connection (440)', async () => {
		const [unscanned, replaced, gaveUp] = [await h.createSession(), await h.createSession(), await h.createSession()]
		const fail = (ref: SessionRef, row: Partial<typeof sessions.$inferInsert>) =>
			h.database.db
				.update(sessions)
				.set({ status: 'failed', ...row })
				.where(eq(sessions.id, ref.sessionId))
		await fail(unscanned, { lastError: 'no QR code was scanned in time; start the session again for new ones', lastDisconnectCode: 408 })
		await fail(replaced, { jid: '15554000077@s.whatsapp.net', lastDisconnectCode: 440 })
		// Paired, and failed on the network: worth a try after a restart.
		await fail(gaveUp, { jid: '15554000078@s.whatsapp.net', lastDisconnectCode: null })
		const toRun = (await createRunnerStore(h.database.db).sessionsToRun()).map((r) => r.id)
		expect(toRun).toContain(gaveUp.sessionId)
		expect(toRun).not.toContain(unscanned.sessionId)
		expect(toRun).not.toContain(replaced.sessionId)

		const after = h.events.length
		await h.stopRunner()
		await h.startRunner()
		await h.waitForEvent(gaveUp, 'session.qr.updated', { after })
		await h.waitForEvent(ref, 'session.status.connected', { after })
		expect(h.events.slice(after).filter((e) => e.sessionId === unscanned.sessionId || e.sessionId === replaced.sessionId)).toHaveLength(0)
	}, 20_000)

	it('a runner with the wrong ENCRYPTION_KEY fails the session loudly and leaves its creds untouched', async () => {
		const after = h.events.length
		await h.stopRunner()
		const before = await storedCreds()
		await h.startRunner({ ENCRYPTION_KEY: Buffer.alloc(32, 42).toString('base64') })
		const failed = await h.waitForEvent(ref, 'session.status.disconnected', { after, where: (e) => e.data.status === 'failed' })
		expect(failed.data.reason).toBe('auth_state_unreadable')
		const session = await h.untilStatus(ref, 'failed')
		expect(session.lastError).toContain('ENCRYPTION_KEY')
		expect(h.eventsOf(ref, 'session.qr.updated', after)).toHaveLength(0)
		expect(Buffer.compare((await storedCreds())!, before!)).toBe(0)

		// With the right key the same creds open again.
		const again = h.events.length
		await h.stopRunner()
		await h.startRunner()
		await h.waitForEvent(ref, 'session.status.connected', { after: again })
	}, 20_000)

	it('gives up after the configured number of failed reconnects, and says so', async () => {
		const after = h.events.length
		await h.stopRunner()
		// Nothing listens on port 1: every attempt fails at once.
		await h.startRunner({ WA_WEBSOCKET_URL: 'ws://127.0.0.1:1/ws/chat', WA_RECONNECT_MAX_ATTEMPTS: '3' })
		const failed = await h.waitForEvent(ref, 'session.status.disconnected', { after, where: (e) => e.data.status === 'failed' })
		expect(failed.data.reason).toBe('reconnect_attempts_exhausted')
		expect(failed.data.message).toStartWith('gave up after 3 attempts')
		const retries = h
			.eventsOf(ref, 'session.status.disconnected', after)
			.filter((e) => e.data.status === 'reconnecting' && e.data.reason !== 'runner_shutdown')
		expect(retries.map((e) => e.data.message?.match(/attempt (\d) of 3/)?.[1])).toEqual(['1', '2', '3'])
		expect(await storedCreds()).toBeDefined()

		const again = h.events.length
		await h.stopRunner()
		await h.startRunner()
		await h.waitForEvent(ref, 'session.status.connected', { after: again })
	}, 20_000)
})
