import { afterAll, beforeAll, describe, expect, it } from 'bun:test'
import pino from 'pino'
import { createRedisBus } from '../../src/bus/redis-bus'
import { DOMAIN_EVENTS } from '../../src/core/streams'
import type { RedisClient } from '../../src/lib/redis-client'
import { closeRedis, openRedis } from '../../src/redis/connection'
import { NotReplicatedError } from '../../src/redis/slots'
import { collect, condition, ids, qrEvent } from '../events/helpers'
import { startRedisCluster, type RedisClusterHarness } from '../helpers/redis-cluster'
import { createTestRedisPrefix } from '../helpers/redis'
import { rejectionOf } from '../helpers/rejection'

const logger = pino({ level: process.env.TEST_LOG_LEVEL ?? 'silent' })
const REPLICATED = { replicas: 1, timeoutMs: 1_000 }

/**
 * "A master killed and failed over loses no acknowledged event." Redis replicates asynchronously,
 * so a master can acknowledge an append and die before its replica has it; the bus acknowledges an
 * append only once a replica confirmed it (WAIT). Each test kills the master of `domain-events`
 * with SIGKILL and lets its replica take over.
 */
let cluster: RedisClusterHarness
const opened: RedisClient[] = []

beforeAll(async () => {
	// A short node timeout: the replica takes over within a few seconds of the kill.
	cluster = await startRedisCluster({ nodeTimeoutMs: 2_000 })
}, 60_000)

afterAll(async () => {
	for (const redis of opened) await closeRedis(redis)
	await cluster?.close()
})

function busOn(prefix: string, replication?: typeof REPLICATED) {
	const redis = openRedis(cluster.url, logger, 'failover-test')
	opened.push(redis)
	return createRedisBus({ redis, prefix, partitions: 4, logger, replication })
}

/** Publishes batches of 20 until stopped, remembering what the bus acknowledged. */
function burst(bus: ReturnType<typeof busOn>, progress: ReturnType<typeof condition>) {
	const acknowledged: string[] = []
	let refused = 0
	let stopped = false
	const running = (async () => {
		while (!stopped) {
			const batch = Array.from({ length: 20 }, () => qrEvent())
			try {
				await bus.publish(batch)
				acknowledged.push(...ids(batch))
			} catch {
				// Not acknowledged (the master died, the slot is moving, no replica confirmed it): a
				// producer retries after a pause, as the relay and the runner's publisher do.
				refused++
				await Bun.sleep(50)
			}
			progress.notify()
		}
	})()
	return {
		acknowledged,
		refused: () => refused,
		async stop() {
			stopped = true
			await running
		},
	}
}

describe('a master killed and failed over', () => {
	it('loses no acknowledged event: every append the bus acknowledged mid-burst is consumed after the replica takes over', async () => {
		const { prefix } = createTestRedisPrefix()
		const stream = prefix + DOMAIN_EVENTS
		const bus = busOn(prefix, REPLICATED)
		const progress = condition()
		const consumed = await collect(bus, { claimIdleMs: 1_000, batchSize: 200, onChange: progress.notify })
		const publishing = burst(bus, progress)
		try {
			await progress.until(() => publishing.acknowledged.length >= 400, 30_000, '400 acknowledged events before the kill')
			const victim = await cluster.masterOf(stream)
			await cluster.kill(victim)
			const heir = await cluster.untilServed(stream)
			expect(heir.port).not.toBe(victim.port)
			// The heir has no replica until the dead node comes back as one: until then nothing is
			// acknowledged, since nothing it took would survive its own death.
			await cluster.restart(victim)
			await cluster.untilReplicated(heir)
			const atTakeover = publishing.acknowledged.length
			await progress.until(() => publishing.acknowledged.length >= atTakeover + 400, 30_000, '400 more acknowledged events after the failover')
		} finally {
			await publishing.stop()
		}
		const acknowledged = new Set(publishing.acknowledged)
		const missing = () => {
			const seen = new Set(consumed.handledIds())
			return [...acknowledged].filter((id) => !seen.has(id))
		}
		await progress.until(() => missing().length === 0, 30_000, 'every acknowledged event to be consumed').catch(() => {})
		expect(missing()).toEqual([])
		await consumed.consumer.stop()
		expect(await cluster.errorCounts()).not.toHaveProperty('CROSSSLOT')
	}, 120_000)

	it('refuses to acknowledge an append no replica confirmed, where an acknowledgement without WAIT is lost in the failover', async () => {
		const { prefix } = createTestRedisPrefix()
		const stream = prefix + DOMAIN_EVENTS
		const waiting = busOn(prefix, REPLICATED)
		const trusting = busOn(prefix)
		const [before] = await waiting.publish([qrEvent()])
		const master = await cluster.masterOf(stream)
		const replica = await cluster.replicaOf(master)
		// A replica that has fallen behind: stopped, and cut off from its master (what the master had
		// already sent may still sit in its socket, so the link is closed before the writes).
		replica.proc.kill('SIGSTOP')
		try {
			await master.admin.call('CLIENT', 'KILL', 'TYPE', 'replica')
			const unprotected = await trusting.publish([qrEvent()])
			expect(unprotected).toHaveLength(1)
			expect(await rejectionOf(waiting.publish([qrEvent()]))).toBeInstanceOf(NotReplicatedError)
			await cluster.kill(master)
		} finally {
			replica.proc.kill('SIGCONT')
		}
		const heir = await cluster.untilServed(stream)
		expect(heir.port).toBe(replica.port)
		// What the replica confirmed survived; what the master alone acknowledged is gone.
		expect((await waiting.read(DOMAIN_EVENTS, { after: '0' })).map((e) => e.id)).toEqual([before!.id])
		await cluster.restart(master)
	}, 60_000)
})
