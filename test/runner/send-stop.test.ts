import { afterAll, beforeAll, describe, expect, it } from 'bun:test'
import { and, eq, inArray } from 'drizzle-orm'
import { command, type AnyEnvelope } from '../../src/core/catalogue'
import { newOutgoingMessageId } from '../../src/core/message-id'
import { sessionMessages, sessions } from '../../src/db/schema'
import { until } from '../helpers/until'
import { startHarness, type RunnerHarness, type SessionRef } from './harness'

const ACCOUNT = '15557000001'
const BOB = '15557000102'

let h: RunnerHarness
let ref: SessionRef

beforeAll(async () => {
	h = await startHarness()
	ref = await h.createSession()
	await h.pairByQr(ref, ACCOUNT)
	await h.waitForEvent(ref, 'session.history.sync', { where: (e) => e.data.syncType === 'INITIAL_BOOTSTRAP' && !!e.data.part })
}, 30_000)
afterAll(async () => {
	await h?.close()
}, 30_000)

const send = (text: string) =>
	command('session.messages.send', ref, { messageId: newOutgoingMessageId(), to: `${BOB}@s.whatsapp.net`, content: { text } })
const stop = () => command('session.stop', ref, {})

/** Commands in one publish: the runner reads them back to back, in this order. */
async function backToBack(...commands: AnyEnvelope[]) {
	await h.database.db.update(sessions).set({ desiredState: 'stopped' }).where(eq(sessions.id, ref.sessionId))
	await h.bus.publish(commands)
}

async function startAgain() {
	const after = h.events.length
	await h.database.db.update(sessions).set({ desiredState: 'running' }).where(eq(sessions.id, ref.sessionId))
	await h.command('session.start', ref, {})
	await h.waitForEvent(ref, 'session.status.connected', { after })
}

/**
 * Each send ends one of two ways: the phone got it, or its command failed. What the phone got is
 * compared with the rows: every such message stored, none sent twice; nothing else stored.
 */
async function checkOutcomes(sends: ReturnType<typeof send>[]) {
	const ids = sends.map((s) => s.data.messageId)
	const outcomes = await Promise.all(
		sends.map((s) =>
			Promise.race([
				h.standIn
					.waitForSent((m) => m.id === s.data.messageId)
					.then(
						() => 'sent' as const,
						() => 'neither' as const,
					),
				h.waitForEvent(ref, 'session.command.failed', { where: (e) => e.data.commandId === s.id }).then(
					() => 'failed' as const,
					() => 'neither' as const,
				),
			]),
		),
	)
	const got = h.standIn.sent(ACCOUNT).filter((m) => ids.includes(m.id))
	expect(new Set(got.map((m) => m.id)).size).toBe(got.length)
	const sent = ids.filter((_, i) => outcomes[i] === 'sent')
	expect(got.map((m) => m.id).sort()).toEqual([...sent].sort())
	const stored = await until(async () => {
		const rows = await h.database.db
			.select({ id: sessionMessages.messageId, fromMe: sessionMessages.fromMe })
			.from(sessionMessages)
			.where(and(eq(sessionMessages.sessionId, ref.sessionId), inArray(sessionMessages.messageId, ids)))
		return rows.length >= sent.length && rows
	}, `the ${sent.length} messages the phone got, stored`)
	expect(stored.map((r) => r.id).sort()).toEqual([...sent].sort())
	expect(stored.every((r) => r.fromMe)).toBe(true)
	return { outcomes, sent }
}

/** The index in the event log of the upsert carrying `id`, which must come before `before`. */
function upsertIndex(id: string): number {
	return h.events.findIndex(
		(e) => e.sessionId === ref.sessionId && e.type === 'session.messages.upsert' && e.data.messages.some((m) => m.key.id === id),
	)
}

describe('a send racing a stop ends recorded either way', () => {
	it('send, then stop: the phone gets it, and its upsert is on the bus before the session says stopped', async () => {
		const after = h.events.length
		const s = send('just before the stop')
		await backToBack(s, stop())
		const stopped = await h.waitForEvent(ref, 'session.status.disconnected', { after, where: (e) => e.data.status === 'stopped' })
		const { outcomes } = await checkOutcomes([s])
		expect(outcomes).toEqual(['sent'])
		const upsert = upsertIndex(s.data.messageId)
		expect(upsert).toBeGreaterThanOrEqual(after)
		expect(upsert).toBeLessThan(h.events.indexOf(stopped))
		await startAgain()
	}, 30_000)

	it('stop, then send: the send fails with the reason and the phone gets nothing', async () => {
		const s = send('just after the stop')
		await backToBack(stop(), s)
		const failed = await h.waitForEvent(ref, 'session.command.failed', { where: (e) => e.data.commandId === s.id })
		expect(failed.data.error.code).toBe('session_not_connected')
		const { outcomes } = await checkOutcomes([s])
		expect(outcomes).toEqual(['failed'])
		await startAgain()
	}, 30_000)

	it('sends on both sides of a stop: what the phone got is stored once, the rest failed', async () => {
		const after = h.events.length
		const before = [send('one'), send('two'), send('three')]
		const later = [send('four'), send('five')]
		await backToBack(...before, stop(), ...later)
		const stopped = await h.waitForEvent(ref, 'session.status.disconnected', { after, where: (e) => e.data.status === 'stopped' })
		const { outcomes } = await checkOutcomes([...before, ...later])
		expect(outcomes).toEqual(['sent', 'sent', 'sent', 'failed', 'failed'])
		for (const s of before) expect(upsertIndex(s.data.messageId)).toBeLessThan(h.events.indexOf(stopped))
		await startAgain()
	}, 30_000)

	it('sends while the runner shuts down: each goes out once, before the shutdown or after the restart, and is stored', async () => {
		const sends = [send('racing a shutdown 1'), send('racing a shutdown 2'), send('racing a shutdown 3')]
		const after = h.events.length
		await h.bus.publish(sends)
		await h.stopRunner()
		await h.startRunner()
		await h.waitForEvent(ref, 'session.status.connected', { after })
		const { outcomes } = await checkOutcomes(sends)
		expect(outcomes).toEqual(['sent', 'sent', 'sent'])
	}, 30_000)
})
