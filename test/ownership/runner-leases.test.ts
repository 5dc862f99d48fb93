import { afterAll, beforeAll, describe, expect, it } from 'bun:test'
import type { RedisClient } from '../../src/lib/redis-client'
import { createLogger } from '../../src/logger'
import { closeRedis, openRedis } from '../../src/redis/connection'
import { leaseOwnership } from '../../src/roles/runner/lease-ownership'
import { createRedisLeaseStore, leaseKeys, type LeaseStore } from '../../src/roles/runner/leases'
import { start as startRunner, type RunnerHandle } from '../../src/roles/runner'
import { commandPartition, partitionStream, RUNNER_GROUP } from '../../src/core/streams'
import { REDIS_TEST_URL } from '../helpers/redis'
import { until } from '../helpers/until'
import { startHarness, type RunnerHarness, type SessionRef } from '../runner/harness'

// The runner role on leases whose Redis goes away while the rest of Redis (the streams) still
// works: the sessions must close before the lease could lapse, and come back once it answers.
const PHONE = '15558000001'
const DEVICE = `${PHONE}:1@s.whatsapp.net`
// Short, so the test is quick, yet room for two renewals in a row to fail before the watchdog
// fences (TTL − MARGIN without one): on a loaded host running a Redis Cluster, a renewal may time
// out, and a fence before the test's own cut interrupts the first history sync that it waits for.
const TTL = 4_500
const MARGIN = 1_200

let h: RunnerHarness
let redis: RedisClient
let runner: RunnerHandle
let ref: SessionRef
let cutOff: (off: boolean) => void

beforeAll(async () => {
	h = await startHarness({ env: { COMMAND_PARTITIONS: '2' } })
	await h.stopRunner()
	const logger = createLogger(h.config).child({ role: 'runner' })
	redis = openRedis(REDIS_TEST_URL, logger, 'leases')
	const real = createRedisLeaseStore({ redis, prefix: h.config.redisPrefix, partitions: 2, commandTimeoutMs: TTL / 3 })
	let off = false
	const guard =
		<A extends unknown[], R>(fn: (...args: A) => Promise<R>) =>
		(...args: A) =>
			off ? Promise.reject(new Error('redis unreachable')) : fn(...args)
	const store: LeaseStore = {
		...real,
		acquire: guard(real.acquire),
		renew: guard(real.renew),
		release: guard(real.release),
		heartbeat: guard(real.heartbeat),
		fleet: guard(real.fleet),
	}
	cutOff = (value) => (off = value)
	const ownership = leaseOwnership({
		store,
		runnerId: 'test-runner',
		partitions: 2,
		ttlMs: TTL,
		renewEveryMs: TTL / 3,
		safetyMarginMs: MARGIN,
		logger,
	})
	runner = await startRunner({ config: h.config, logger, database: h.database, bus: h.bus, redis }, { ownership, runnerId: 'test-runner' })
	ref = await h.createSession()
	await h.pairByQr(ref, PHONE)
	await h.waitForEvent(ref, 'session.history.sync', { where: (e) => e.data.syncType === 'INITIAL_BOOTSTRAP' && !!e.data.part })
}, 30_000)
afterAll(async () => {
	cutOff?.(false)
	await runner?.stop()
	await h?.close()
	if (redis) await closeRedis(redis)
}, 30_000)

/** Consumers of the runners' group on a command partition's stream, as Redis lists them. */
async function consumersOf(stream: string): Promise<unknown[]> {
	return (await redis.xinfo('CONSUMERS', h.config.redisPrefix + stream, RUNNER_GROUP)) as unknown[]
}

describe('a runner whose leases cannot be renewed', () => {
	it('closes its sessions before the lease could lapse, leaves commands pending, and resumes everything once Redis answers', async () => {
		// The row is written by the consumer from the connected event, which may trail the events awaited above.
		const connected = await h.untilStatus(ref, 'connected')
		expect(connected.ownerRunner).toBe('test-runner')
		const partition = commandPartition(ref.sessionId, 2)
		const stream = partitionStream(partition)
		// The runner's consumer joins the group with its first read, which may trail the session's connection.
		await until(async () => (await consumersOf(stream)).length === 1, 'the partition’s consumer to read')
		// What Redis holds for the session's partition the moment the stand-in sees the socket close.
		let leaseAtClose: Promise<string | null> | undefined
		const unsubscribe = h.standIn.core.log.subscribe((e) => {
			if (e.type === 'disconnected' && e.device === DEVICE) leaseAtClose ??= redis.get(leaseKeys(h.config.redisPrefix, partition).lease)
		})
		const after = h.events.length
		// A renewal that timed out on a loaded host may have fenced a partition already (and it was taken again).
		const fencedBefore = runner.ownership.selfFenced
		cutOff(true)
		const lost = await h.waitForEvent(ref, 'session.status.disconnected', { after })
		expect(lost.data).toMatchObject({ status: 'reconnecting', reason: 'lease_lost' })
		await h.standIn.waitForDisconnect(DEVICE)
		unsubscribe()
		// Closed by the watchdog while the lease was still this runner's: nobody could have taken it yet.
		expect(await leaseAtClose).toStartWith('test-runner ')
		expect(runner.ownership).toMatchObject({ owned: 0, selfFenced: fencedBefore + 2 })

		// Nobody reads the partition any more, so a command sent meanwhile waits in its stream.
		await until(async () => (await consumersOf(stream)).length === 0, 'the partition’s consumer to stop')
		const messageId = `3EB0${'C3'.repeat(9)}`
		const send = await h.command('session.messages.send', ref, { messageId, to: '15558000099@s.whatsapp.net', content: { text: 'while cut off' } })
		const progress = await h.bus.groupProgress(stream, RUNNER_GROUP)
		expect((await h.bus.read(stream, { after: progress!.lastDeliveredId })).map((e) => e.envelope.id)).toContain(send.id)
		expect(h.standIn.sent(PHONE).filter((m) => m.id === messageId)).toEqual([])

		cutOff(false)
		await h.waitForEvent(ref, 'session.status.connected', { after, timeoutMs: 10_000 })
		await h.standIn.waitForSent((m) => m.id === messageId, { timeoutMs: 10_000 })
		expect(h.standIn.device(DEVICE)).toMatchObject({ maxLive: 1, removed: undefined })
		expect(h.eventsOf(ref, 'session.qr.updated', after)).toEqual([])
		expect(h.eventsOf(ref, 'session.command.failed', after)).toEqual([])
		expect(runner.ownership.owned).toBe(2)
	}, 30_000)
})
