import { afterAll, beforeAll, describe, expect, it } from 'bun:test'
import { commandPartition } from '../../src/core/streams'
import { eq } from 'drizzle-orm'
import { sessions } from '../../src/db/schema'
import type { ApiSession } from '../helpers/sessions'
import { untilStatus } from '../helpers/sessions'
import { METRICS_TOKEN, sample, scrapeText, untilSample } from '../metrics/helpers'
import { LEASE_TTL_MS, startFleet, type FleetWorld, type RunnerProcess } from './fleet'

// The fleet's only runner is killed with SIGKILL: nobody takes its sessions over, and the
// consumer's watch says they were lost once their partitions have had no holder for a while.
const PARTITIONS = 2
const LOST_AFTER_MS = 2 * LEASE_TTL_MS

let fleet: FleetWorld
let runner: RunnerProcess
let paired: ApiSession
/** Paired, then its owner asked for it to stop: the runner never heard, and died. */
let stopping: ApiSession
let showingQr: string
let stopped: string
let deleted: string

/** A session of the test tenant on `partition`, stored as given. */
async function sessionOn(partition: number, values: Pick<typeof sessions.$inferInsert, 'status' | 'desiredState' | 'deletedAt'>) {
	let id: string
	do id = Bun.randomUUIDv7()
	while (commandPartition(id, PARTITIONS) !== partition)
	await fleet.app.server.database.db.insert(sessions).values({ id, tenantId: fleet.api.user.user.tenantId, name: `p${partition}`, ...values })
	return id
}

beforeAll(async () => {
	fleet = await startFleet({ partitions: PARTITIONS, env: { RUNNER_LOST_AFTER_MS: String(LOST_AFTER_MS), METRICS_ENABLED: 'true', METRICS_TOKEN } })
	runner = await fleet.spawnRunner()
	await fleet.untilHolding(runner, PARTITIONS)
	paired = await fleet.pairedOn(0, '15556100000')
	stopping = await fleet.pairedOn(1, '15556100001')
	// As a stop asked while the runner could not take the command: wanted stopped, still connected.
	await fleet.app.server.database.db.update(sessions).set({ desiredState: 'stopped' }).where(eq(sessions.id, stopping.id))
	showingQr = await sessionOn(1, { status: 'stopped', desiredState: 'stopped' })
	expect((await fleet.api.post(`/sessions/${showingQr}/start`)).status).toBe(202)
	await fleet.events.waitFor('session.qr.updated', showingQr, { timeoutMs: 20_000 })
	await untilStatus(fleet.api, showingQr, 'qr')
	stopped = await sessionOn(1, { status: 'stopped', desiredState: 'stopped' })
	// Deleted while it read connected; its runner had not logged it out yet.
	deleted = await sessionOn(1, { status: 'connected', desiredState: 'stopped', deletedAt: new Date() })
}, 60_000)
afterAll(() => fleet?.close(), 30_000)

describe('the last runner killed with -9', () => {
	it('leaves its sessions reading reconnecting (runner_lost), once each, until a runner connects them again; one being stopped reads stopped', async () => {
		const after = fleet.events.events.length
		runner.proc.kill('SIGKILL')
		await runner.proc.exited

		// The lease runs out (one TTL), then the partition stays free for LOST_AFTER_MS.
		const lost = { after, where: (e: { data: { reason: string } }) => e.data.reason === 'runner_lost', timeoutMs: 30_000 }
		const [connectedLost, qrLost, stoppingLost] = await Promise.all([
			fleet.events.waitFor('session.status.disconnected', paired.id, lost),
			fleet.events.waitFor('session.status.disconnected', showingQr, lost),
			fleet.events.waitFor('session.status.disconnected', stopping.id, lost),
		])
		expect(connectedLost.data).toMatchObject({ status: 'reconnecting', reason: 'runner_lost' })
		expect(qrLost.data).toMatchObject({ status: 'reconnecting', reason: 'runner_lost' })
		// Nobody will connect a session its owner stopped: it reads stopped.
		expect(stoppingLost.data).toMatchObject({ status: 'stopped', reason: 'runner_lost' })
		await untilStatus(fleet.api, stopping.id, 'stopped')
		const read = await untilStatus(fleet.api, paired.id, 'reconnecting')
		expect(read.lastError).toContain('no runner is running the session')
		const qr = await untilStatus(fleet.api, showingQr, 'reconnecting')
		expect(qr.qr).toBeNull()
		// No runner took the partitions meanwhile: the watch let go of them.
		expect((await fleet.leases()).partitions).toEqual([null, null])
		// Counted where an operator looks: two sessions wait for a runner, one now reads stopped.
		const reconnecting = 'switchboard_runner_lost_sessions_total{status="reconnecting"}'
		const lostCounts = (text: string) => [sample(text, reconnecting), sample(text, 'switchboard_runner_lost_sessions_total{status="stopped"}')]
		expect(lostCounts(await untilSample(fleet.app, reconnecting, 2))).toEqual([2, 1])

		// A runner that starts later connects the paired session again, without a QR code.
		const next = await fleet.spawnRunner()
		await fleet.untilHolding(next, PARTITIONS)
		await fleet.events.waitFor('session.status.connected', paired.id, { after, timeoutMs: 30_000 })
		await fleet.events.waitFor('session.qr.updated', showingQr, { after, timeoutMs: 30_000 })
		const statusEvents = (id: string) =>
			fleet.events.events
				.slice(after)
				.filter((e) => e.sessionId === id && e.type.startsWith('session.'))
				.filter((e) => e.type === 'session.status.disconnected' || e.type === 'session.status.connected' || e.type === 'session.qr.updated')
				.map((e) => [e.type, (e.data as { reason?: string }).reason])
		// Said lost once, however many checks the watch made while no runner was there.
		expect(statusEvents(paired.id)).toEqual([
			['session.status.disconnected', 'runner_lost'],
			['session.status.connected', undefined],
		])
		expect(statusEvents(showingQr).slice(0, 2)).toEqual([
			['session.status.disconnected', 'runner_lost'],
			['session.qr.updated', undefined],
		])
		// A stopped session had nothing to be told, nor a deleted one; the one stopped meanwhile stays so.
		expect(statusEvents(stopped)).toEqual([])
		expect(statusEvents(deleted)).toEqual([])
		expect(statusEvents(stopping.id)).toEqual([['session.status.disconnected', 'runner_lost']])
		expect(lostCounts(await scrapeText(fleet.app))).toEqual([2, 1])
		await untilStatus(fleet.api, paired.id, 'connected')
	}, 90_000)
})
