import { afterAll, beforeAll, describe, expect, it } from 'bun:test'
import { untilStatus, type ApiSession } from '../helpers/sessions'
import { until } from '../helpers/until'
import { deviceOf, startFleet, type FleetWorld, type RunnerProcess } from './fleet'

// Six partitions with one paired session each, run by one runner process, then three, then one
// again. Runners that join get their share handed over; runners stopped with SIGTERM hand theirs
// back. Nobody scans a QR again and no account ever has two sockets.
const PARTITIONS = 6
const phoneOf = (partition: number) => `1555700000${partition}`

let fleet: FleetWorld
let first: RunnerProcess
const paired: ApiSession[] = []
let registrations = 0

beforeAll(async () => {
	fleet = await startFleet({ partitions: PARTITIONS, env: { METRICS_ENABLED: 'true' } })
	first = await fleet.spawnRunner()
	await fleet.untilHolding(first, PARTITIONS)
	for (let p = 0; p < PARTITIONS; p++) paired.push(await fleet.pairedOn(p, phoneOf(p)))
	registrations = fleet.standIn.stats().registrations
}, 60_000)
afterAll(() => fleet?.close(), 30_000)

/** Every session connected, on the runner that holds its partition; how many each runner runs. */
async function sessionsPerRunner(runners: RunnerProcess[]): Promise<number[]> {
	const counts = runners.map(() => 0)
	for (const [p, s] of paired.entries()) {
		await untilStatus(fleet.api, s.id, 'connected', 20_000)
		const holder = (await fleet.leases()).partitions[p]?.holder
		const owner = await until(() => fleet.sessionOwner(s.id).then((o) => o === holder && o), `session ${p} to run on its partition's holder`, 20_000)
		counts[runners.findIndex((r) => r.owns(owner))]!++
	}
	return counts
}

function expectOneSocketEachAndNoQr(after: number) {
	for (let p = 0; p < PARTITIONS; p++) expect(fleet.standIn.device(deviceOf(phoneOf(p))).maxLive).toBe(1)
	expect(fleet.standIn.stats().registrations).toBe(registrations)
	expect(fleet.events.events.slice(after).filter((e) => e.type === 'session.qr.updated')).toEqual([])
}

describe('scaling runners 1 → 3 → 1', () => {
	let joined: RunnerProcess[] = []

	it('runners that join take a fair share, handed over without logging out', async () => {
		expect(await sessionsPerRunner([first])).toEqual([PARTITIONS])
		const after = fleet.events.events.length
		const joining = performance.now()
		joined = [await fleet.spawnRunner(), await fleet.spawnRunner()]
		for (const r of [first, ...joined]) await fleet.untilHolding(r, PARTITIONS / 3)
		expect(await sessionsPerRunner([first, ...joined])).toEqual([2, 2, 2])
		console.log(`1 → 3 runners: sessions spread and connected after ${(performance.now() - joining).toFixed(0)} ms (two process starts included)`)

		const moved = fleet.events.events.slice(after).filter((e) => e.type === 'session.status.disconnected')
		expect(moved.map((e) => e.data)).toEqual(moved.map(() => expect.objectContaining({ status: 'reconnecting', reason: 'partition_released' })))
		// Four sessions must move; joining one after the other, a fifth moves twice (3+3, then 2+2+2).
		expect(moved.length).toBeGreaterThanOrEqual(4)
		expectOneSocketEachAndNoQr(after)
	}, 60_000)

	it('a runner-only process serves /health, /ready and /metrics, and none of the API', async () => {
		const runner = joined[0]!
		expect((await fetch(`${runner.url}/health`)).status).toBe(200)
		expect((await fetch(`${runner.url}/ready`)).status).toBe(200)
		expect((await fetch(`${runner.url}/sessions`)).status).toBe(404)
		expect((await fetch(`${runner.url}/swagger/json`)).status).toBe(404)
		const metrics = await fetch(`${runner.url}/metrics`)
		expect(metrics.status).toBe(200)
		expect(await metrics.text()).toMatch(/^switchboard_partitions_owned(\{[^}]*\})? 2$/m)
	})

	it('runners stopped with SIGTERM hand their sessions back at once, closed without logging out', async () => {
		const after = fleet.events.events.length
		const stopping = performance.now()
		for (const r of joined) r.proc.kill('SIGTERM')
		expect(await Promise.all(joined.map((r) => r.proc.exited))).toEqual([0, 0])
		await fleet.untilHolding(first, PARTITIONS)
		expect(await sessionsPerRunner([first])).toEqual([PARTITIONS])
		console.log(`3 → 1 runners: every session connected on the remaining one ${(performance.now() - stopping).toFixed(0)} ms after SIGTERM`)

		const closed = fleet.events.events.slice(after).filter((e) => e.type === 'session.status.disconnected')
		expect(closed.map((e) => e.data)).toEqual(closed.map(() => expect.objectContaining({ status: 'reconnecting', reason: 'runner_shutdown' })))
		expect(closed).toHaveLength(4)
		expectOneSocketEachAndNoQr(after)
		for (let p = 0; p < PARTITIONS; p++) expect(fleet.standIn.device(deviceOf(phoneOf(p))).removed).toBeUndefined()
		expect(first.owns((await fleet.leases()).runners[0])).toBe(true)
	}, 60_000)
})
