import { afterAll, beforeAll, describe, expect, it } from 'bun:test'
import { and, eq } from 'drizzle-orm'
import { sessionMessages } from '../../src/db/schema'
import { until } from '../helpers/until'
import { startHarness, type RunnerHarness, type SessionRef } from './harness'
import { UpsertTap } from './tap'

const ACCOUNT = '15556000001'
const DEVICE = `${ACCOUNT}:1@s.whatsapp.net`
const ALICE = '15556000101'

let h: RunnerHarness
let ref: SessionRef
let tap: UpsertTap

beforeAll(async () => {
	h = await startHarness()
	tap = new UpsertTap()
	await h.stopRunner()
	await h.startRunner({}, { bus: tap.wrap })
	ref = await h.createSession()
	await h.pairByQr(ref, ACCOUNT)
	// Until its first history sync is through, Baileys holds a new socket's events (see restarts.test.ts).
	await h.waitForEvent(ref, 'session.history.sync', { where: (e) => e.data.syncType === 'INITIAL_BOOTSTRAP' && !!e.data.part })
	// Every acknowledgement the stand-in gets goes into the tap's log, beside the publishes.
	h.standIn.core.log.subscribe((event) => {
		if (event.type === 'receipt') for (const id of event.receipt.ids) tap.log.push(`receipt ${id}`)
	})
}, 30_000)
afterAll(async () => {
	await h?.close()
}, 30_000)

let n = 0
/** A message id in the shape a phone uses, unique to this file. */
const phoneId = () => `3A${(Date.now() * 100 + n++).toString(16).toUpperCase().padStart(18, '0')}`

const rows = async (id: string) =>
	h.database.db
		.select()
		.from(sessionMessages)
		.where(and(eq(sessionMessages.sessionId, ref.sessionId), eq(sessionMessages.messageId, id)))

const restart = async () => {
	const after = h.events.length
	await h.stopRunner()
	await h.startRunner({}, { bus: tap.wrap })
	await h.waitForEvent(ref, 'session.status.connected', { after })
}

/** Resolves once the stand-in has the device's receipt for `id` (the message is off its books). */
const answered = (id: string, after: number) => h.standIn.waitForReceipt((r) => r.from === DEVICE && r.ids.includes(id), { after })

describe('incoming messages are acknowledged only once they are on the bus', () => {
	it('a message is acknowledged to WhatsApp after its upsert reached the bus', async () => {
		const id = phoneId()
		const position = h.standIn.position
		await h.standIn.deliverText({ to: ACCOUNT, from: ALICE, text: 'in order', id })
		await answered(id, position)
		expect(tap.log.filter((line) => line.endsWith(id))).toEqual([`published ${id}`, `receipt ${id}`])
		await until(async () => (await rows(id)).length === 1, `message ${id} stored`)
	}, 20_000)

	it('a message whose upsert cannot be published is not acknowledged, and comes again after a restart, stored once', async () => {
		const id = phoneId()
		tap.fail(id)
		await h.standIn.deliverEncrypted({ to: ACCOUNT, from: ALICE, text: 'the bus is down', id })
		await tap.attempted(id)
		// The stop waits for the session's events: the publisher's last attempt has failed by then.
		await h.stopRunner()
		expect(h.standIn.device(DEVICE).unanswered).toContain(id)
		expect(await rows(id)).toHaveLength(0)

		tap.heal(id)
		const position = h.standIn.position
		await h.startRunner({}, { bus: tap.wrap })
		await answered(id, position)
		expect(tap.log.filter((line) => line.endsWith(id))).toEqual([`published ${id}`, `receipt ${id}`])
		const [row, ...more] = await until(async () => {
			const found = await rows(id)
			return found.length > 0 && found
		}, `message ${id} stored`)
		expect(more).toHaveLength(0)
		expect(row).toMatchObject({ text: 'the bus is down', fromMe: false, chatJid: `${ALICE}@s.whatsapp.net` })
		expect(h.standIn.device(DEVICE).unanswered).not.toContain(id)
	}, 30_000)

	it('a message on its way to the bus when the runner stops is acknowledged before the socket closes', async () => {
		const id = phoneId()
		const release = tap.hold(id)
		const position = h.standIn.position
		await h.standIn.deliverText({ to: ACCOUNT, from: ALICE, text: 'in flight', id })
		await tap.attempted(id)
		const stopping = h.stopRunner()
		release()
		await stopping
		await answered(id, position)
		expect(h.standIn.device(DEVICE).unanswered).not.toContain(id)
		expect(tap.log.filter((line) => line.endsWith(id))).toEqual([`published ${id}`, `receipt ${id}`])
		await h.startRunner({}, { bus: tap.wrap })
		await h.untilStatus(ref, 'connected')
	}, 30_000)

	it('a message whose connection drops under it arrives after the reconnect, stored once', async () => {
		const id = phoneId()
		const after = h.events.length
		const position = h.standIn.position
		await h.standIn.deliverEncrypted({ to: ACCOUNT, from: ALICE, text: 'dropped', id })
		h.standIn.kick(DEVICE)
		await h.waitForEvent(ref, 'session.status.connected', { after })
		await answered(id, position)
		const stored = await until(async () => {
			const found = await rows(id)
			return found.length > 0 && found
		}, `message ${id} stored`)
		expect(stored).toHaveLength(1)
		expect(stored[0]!.text).toBe('dropped')
		expect(h.standIn.device(DEVICE).unanswered).not.toContain(id)
	}, 30_000)

	it('messages delivered while the runner stops all arrive after the restart, each stored once and acknowledged', async () => {
		const ids = [phoneId(), phoneId(), phoneId(), phoneId()]
		const position = h.standIn.position
		const stopping = h.stopRunner()
		await Promise.all(ids.map((id, i) => h.standIn.deliverEncrypted({ to: ACCOUNT, from: ALICE, text: `while stopping ${i}`, id })))
		await stopping
		await restart()
		await Promise.all(ids.map((id) => answered(id, position)))
		for (const id of ids) {
			const stored = await until(async () => {
				const found = await rows(id)
				return found.length > 0 && found
			}, `message ${id} stored`)
			expect(stored).toHaveLength(1)
		}
		expect(h.standIn.device(DEVICE).unanswered).toEqual([])
	}, 30_000)
})
