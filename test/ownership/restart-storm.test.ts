import { afterAll, beforeAll, describe, expect, it } from 'bun:test'
import type { ApiSession } from '../helpers/sessions'
import { deviceOf, startFleet, type FleetWorld, type RunnerProcess } from './fleet'

// One runner process holds every session; it is killed with SIGKILL and a fresh one takes over.
// A small restart storm: the figures for a thousand sessions are in bench/scale.bench.ts.
const PARTITIONS = 4
const SESSIONS = 20
/** Low, so that the pacing shows against the stand-in's clock at this small scale. */
const CONNECT_RATE = 5
/** Texts sent to the first sessions while no runner is alive. */
const QUEUED = ['sent while no runner was alive', 'and another', 'and a third']
const QUEUED_SESSIONS = 4
const phoneOf = (n: number) => `15556100${String(n).padStart(3, '0')}`

let fleet: FleetWorld
let first: RunnerProcess
const paired: ApiSession[] = []

beforeAll(async () => {
	// The deployment's lease TTL: pairing generates a companion's prekeys in one go, which can hold a
	// loaded runner's event loop past the failover tests' short TTL.
	fleet = await startFleet({ partitions: PARTITIONS, env: { RUNNER_CONNECT_RATE: String(CONNECT_RATE), RUNNER_LEASE_TTL_MS: '10000' } })
	first = await fleet.spawnRunner()
	await fleet.untilHolding(first, PARTITIONS)
	for (let n = 0; n < SESSIONS; n++) paired.push(await fleet.pairedOn(n % PARTITIONS, phoneOf(n)))
}, 240_000)
afterAll(() => fleet?.close(), 30_000)

describe('a restart storm: the only runner killed with -9, a fresh one started', () => {
	let opened: number[] = []

	it('brings every session back without a QR or a second socket, and delivers the sends queued meanwhile once each, in order', async () => {
		const registrations = fleet.standIn.stats().registrations
		const after = fleet.events.events.length
		const killedAt = Date.now()
		first.proc.kill('SIGKILL')
		await first.proc.exited
		// Nobody told the API: the sessions still read connected, so the sends are accepted and queued.
		const queued = paired.slice(0, QUEUED_SESSIONS)
		const sends = await Promise.all(
			queued.map(async (s) => {
				const ids: string[] = []
				for (const text of QUEUED) {
					const sent = await fleet.api.post(`/sessions/${s.id}/messages`, { to: '+1 555-030 0001', text })
					expect(sent.status).toBe(202)
					ids.push(sent.body.messageId)
				}
				return ids
			}),
		)

		const fresh = await fleet.spawnRunner()
		await Promise.all(paired.map((s) => fleet.events.waitFor('session.status.connected', s.id, { after, timeoutMs: 60_000 })))
		await Promise.all(sends.map((ids) => fleet.standIn.waitForSent((m) => m.id === ids.at(-1), { timeoutMs: 30_000 })))

		for (const [i, ids] of sends.entries()) {
			const delivered = fleet.standIn.sent(phoneOf(i)).filter((m) => ids.includes(m.id))
			expect(delivered.map((m) => m.id)).toEqual(ids)
			expect(delivered.map((m) => m.text)).toEqual(QUEUED)
		}
		for (let n = 0; n < SESSIONS; n++) expect(fleet.standIn.device(deviceOf(phoneOf(n))).maxLive).toBe(1)
		expect(fleet.standIn.stats().duplicateLogins).toBe(0)
		expect(fleet.standIn.stats().registrations).toBe(registrations)
		expect(fleet.events.events.slice(after).filter((e) => e.type === 'session.qr.updated')).toEqual([])
		for (const s of paired) expect(fresh.owns(await fleet.sessionOwner(s.id))).toBe(true)

		// Every socket opened since the kill is the fresh runner's.
		opened = fleet.standIn.core.log
			.list('socket-opened')
			.filter((e) => e.at >= killedAt)
			.map((e) => e.at)
	}, 120_000)

	it('opens the sockets no faster than RUNNER_CONNECT_RATE, as the stand-in sees them', () => {
		expect(opened.length).toBeGreaterThanOrEqual(SESSIONS)
		// The runner spaces its openings 1/rate apart; how long each takes to reach the stand-in varies
		// a little (more on a loaded machine), hence the slack. Unpaced, they arrive within a few ms.
		const slackMs = 250
		for (let i = 0; i + CONNECT_RATE < opened.length; i++) expect(opened[i + CONNECT_RATE]! - opened[i]!).toBeGreaterThanOrEqual(1000 - slackMs)
		expect(opened.at(-1)! - opened[0]!).toBeGreaterThanOrEqual(((SESSIONS - 1) / CONNECT_RATE) * 1000 - slackMs)
	})
})
