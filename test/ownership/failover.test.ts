import { afterAll, beforeAll, describe, expect, it } from 'bun:test'
import type { ApiSession } from '../helpers/sessions'
import { until } from '../helpers/until'
import { deviceOf, LEASE_TTL_MS, startTwoRunners, type FleetWorld, type RunnerProcess } from './fleet'

// Two runner processes share four partitions, one paired session on each. One runner is killed
// with SIGKILL: nothing of it runs any more, its leases simply stop being renewed.
const PARTITIONS = 4
const phoneOf = (partition: number) => `1555600000${partition}`

let fleet: FleetWorld
let victim: RunnerProcess
let survivor: RunnerProcess
const paired: ApiSession[] = []

beforeAll(async () => {
	const two = await startTwoRunners(PARTITIONS)
	fleet = two.fleet
	victim = two.first
	survivor = two.second
	for (let p = 0; p < PARTITIONS; p++) paired.push(await fleet.pairedOn(p, phoneOf(p)))
}, 60_000)
afterAll(() => fleet?.close(), 30_000)

describe('a runner killed with -9', () => {
	it('leaves its sessions to the other runner within 30 s: no second socket, no QR, and sends made meanwhile delivered in order', async () => {
		const { partitions } = await fleet.leases()
		const orphaned = paired.filter((_, p) => victim.owns(partitions[p]?.holder))
		const keptPartitions = paired.flatMap((_, p) => (victim.owns(partitions[p]?.holder) ? [] : [p]))
		expect(orphaned).toHaveLength(PARTITIONS / 2)
		for (const s of orphaned) expect(victim.owns(await fleet.sessionOwner(s.id))).toBe(true)
		const registrations = fleet.standIn.stats().registrations
		const after = fleet.events.events.length

		const killedAt = performance.now()
		victim.proc.kill('SIGKILL')
		await victim.proc.exited
		// Nobody told the API: the session still reads connected, so the sends are accepted and queued.
		const texts = ['sent while its runner was dead', 'and another', 'and a third']
		const sends = []
		for (const text of texts) sends.push(await fleet.api.post(`/sessions/${orphaned[0]!.id}/messages`, { to: '+1 555-030 0001', text }))
		expect(sends.map((r) => r.status)).toEqual([202, 202, 202])

		// Each wait gives up after the 30 s a takeover may take.
		const takeovers = await Promise.all(
			orphaned.map(async (s) => {
				await fleet.events.waitFor('session.status.connected', s.id, { after, timeoutMs: 30_000 })
				return performance.now() - killedAt
			}),
		)
		// The runner taking over says first that the session was lost with its runner, then connects it.
		for (const s of orphaned) {
			const said = fleet.events.events.slice(after).filter((e) => e.sessionId === s.id && e.type.startsWith('session.status.'))
			expect(said.map((e) => [e.type, (e.data as { reason?: string }).reason])).toEqual([
				['session.status.disconnected', 'runner_lost'],
				['session.status.connected', undefined],
			])
		}
		console.log(
			`kill -9 → sessions connected on the other runner: ${takeovers.map((ms) => ms.toFixed(0)).join(', ')} ms (lease TTL ${LEASE_TTL_MS} ms)`,
		)

		const ids = sends.map((r) => r.body.messageId as string)
		await fleet.standIn.waitForSent((m) => m.id === ids.at(-1), { timeoutMs: 20_000 })
		// Delivered once each, in the order they were sent.
		const delivered = fleet.standIn.sent().filter((m) => ids.includes(m.id))
		expect(delivered.map((m) => m.text)).toEqual(texts)
		for (const s of orphaned)
			expect(survivor.owns(await until(() => fleet.sessionOwner(s.id).then((o) => survivor.owns(o) && o), `the new owner of ${s.id}`))).toBe(true)

		// At no moment two sockets for one account, nobody scanned a QR again, and the survivor's own
		// sessions never noticed.
		for (let p = 0; p < PARTITIONS; p++) expect(fleet.standIn.device(deviceOf(phoneOf(p))).maxLive).toBe(1)
		expect(fleet.standIn.stats().registrations).toBe(registrations)
		expect(fleet.events.events.slice(after).filter((e) => e.type === 'session.qr.updated')).toEqual([])
		for (const p of keptPartitions) expect(fleet.standIn.device(deviceOf(phoneOf(p))).logins).toBe(1)
		expect((await fleet.leases()).partitions.every((l) => survivor.owns(l?.holder))).toBe(true)
	}, 60_000)
})
