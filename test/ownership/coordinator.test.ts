import { afterAll, afterEach, beforeAll, describe, expect, it } from 'bun:test'
import type { RedisClient } from '../../src/lib/redis-client'
import pino from 'pino'
import { leaseOwnership } from '../../src/roles/runner/lease-ownership'
import { createRedisLeaseStore, leaseKeys, type LeaseStore } from '../../src/roles/runner/leases'
import type { PartitionOwnership } from '../../src/roles/runner/ownership'
import { closeRedis, openRedis } from '../../src/redis/connection'
import { createTestRedisPrefix, REDIS_TEST_URL } from '../helpers/redis'
import { until } from '../helpers/until'

// Several lease ownerships in one process, each with its own store, against real Redis. The
// handlers keep one map of which runner acts on which partition: a claim of a partition that
// another runner has not released yet fails the test, whatever the timing. Claims and releases
// are numbered in the order they happen, so tests compare their order, not their times.

const logger = pino({ level: process.env.TEST_LOG_LEVEL ?? 'silent' })
const PARTITIONS = 8

let redis: RedisClient
beforeAll(() => {
	redis = openRedis(REDIS_TEST_URL, logger, 'ownership-test')
})
afterAll(() => closeRedis(redis))

interface TestRunner {
	id: string
	ownership: PartitionOwnership
	/** Make every Redis call of this runner fail (or work again). */
	cutOff(off: boolean): void
	held(): number[]
	/**
	 * Each partition's last release by this runner: its place in the world's order, how it was
	 * let go, and whether this runner's lease was still alive in Redis once its sockets were closed.
	 */
	releases: Map<number, { step: number; lost: boolean; taken: boolean; leaseAlive: boolean }>
	/** Moves this runner's clock on, as if its process had been frozen that long. */
	jump(ms: number): void
	/** Each partition's last claim by this runner: its place in the world's order. */
	claims: Map<number, number>
	stop(): Promise<void>
}

let world: {
	prefix: ReturnType<typeof createTestRedisPrefix>
	runners: TestRunner[]
	actingOn: Map<number, string>
	violations: string[]
	steps: number
}

function newWorld() {
	world = { prefix: createTestRedisPrefix(), runners: [], actingOn: new Map(), violations: [], steps: 0 }
}
afterEach(async () => {
	await Promise.all(world.runners.map((r) => r.stop().catch(() => {})))
	await world.prefix.cleanup()
	expect(world.violations).toEqual([])
})

/** A store whose every call fails while `off`: Redis unreachable from this runner. */
function cutOffable(store: LeaseStore) {
	let off = false
	const guard =
		<A extends unknown[], R>(fn: (...args: A) => Promise<R>) =>
		(...args: A) =>
			off ? Promise.reject(new Error('redis unreachable')) : fn(...args)
	const wrapped: LeaseStore = {
		acquire: guard(store.acquire),
		renew: guard(store.renew),
		release: guard(store.release),
		heartbeat: guard(store.heartbeat),
		leave: guard(store.leave),
		fleet: guard(store.fleet),
		announce: guard(store.announce),
		onAnnouncement: store.onAnnouncement,
		close: store.close,
	}
	return { store: wrapped, cutOff: (value: boolean) => (off = value) }
}

async function startRunner(id: string, { ttlMs = 900, marginMs = 250 } = {}): Promise<TestRunner> {
	const { store, cutOff } = cutOffable(createRedisLeaseStore({ redis, prefix: world.prefix.prefix, partitions: PARTITIONS, commandTimeoutMs: 300 }))
	let skipped = 0
	const ownership = leaseOwnership({
		now: () => performance.now() + skipped,
		store,
		runnerId: id,
		partitions: PARTITIONS,
		ttlMs,
		renewEveryMs: Math.floor(ttlMs / 3),
		safetyMarginMs: marginMs,
		logger,
	})
	const held = new Set<number>()
	const releases = new Map<number, { step: number; lost: boolean; taken: boolean; leaseAlive: boolean }>()
	const claims = new Map<number, number>()
	let stopped = false
	await ownership.start({
		async claim(parts) {
			for (const p of parts) {
				const other = world.actingOn.get(p)
				if (other && other !== id) world.violations.push(`${id} claimed ${p} while ${other} still acts on it`)
				world.actingOn.set(p, id)
				held.add(p)
				claims.set(p, ++world.steps)
			}
		},
		async release(parts, { lost, taken = false }) {
			await Bun.sleep(20) // stands in for closing the partition's sockets, which is not instant
			// Read past this runner's store, which may be cut off: Redis as the others see it.
			const leases = await Promise.all(parts.map((p) => redis.get(leaseKeys(world.prefix.prefix, p).lease)))
			for (const [i, p] of parts.entries()) {
				if (world.actingOn.get(p) === id) world.actingOn.delete(p)
				held.delete(p)
				releases.set(p, { step: ++world.steps, lost, taken, leaseAlive: leases[i]?.startsWith(`${id} `) ?? false })
			}
		},
	})
	const runner: TestRunner = {
		id,
		ownership,
		cutOff,
		held: () => [...held].sort((a, b) => a - b),
		releases,
		jump: (ms) => {
			skipped += ms
		},
		claims,
		async stop() {
			if (stopped) return
			stopped = true
			cutOff(false)
			await ownership.stop()
		},
	}
	world.runners.push(runner)
	return runner
}

const counts = () => world.runners.map((r) => r.held().length)

describe('partition ownership through leases', () => {
	it('a lone runner takes every partition; runners that join get fair shares handed over, never shared', async () => {
		newWorld()
		const a = await startRunner('runner-a')
		expect(a.held()).toEqual([0, 1, 2, 3, 4, 5, 6, 7])
		await startRunner('runner-b')
		await until(() => counts().join() === '4,4', 'an even split between two runners')
		await startRunner('runner-c')
		// 8 over 3: the remainder goes to the first runners in id order.
		await until(() => counts().join() === '3,3,2', 'shares of 3, 3 and 2')
		expect(a.ownership.stats).toMatchObject({ liveRunners: 3, fairShare: 3, owned: 3, handedOver: 5, lost: 0, selfFenced: 0, takeovers: 0 })
		expect(a.ownership.stats.renewals).toBeGreaterThan(0)
	})

	it('a runner that stops hands its partitions over at once, without waiting for a lease to expire', async () => {
		newWorld()
		const a = await startRunner('runner-a', { ttlMs: 30_000, marginMs: 5_000 })
		const b = await startRunner('runner-b', { ttlMs: 30_000, marginMs: 5_000 })
		await until(() => counts().join() === '4,4', 'an even split')
		await a.stop()
		// The leases live longer than this wait: only released leases can be taken within it, and
		// none was taken over from an expired holder.
		await until(() => b.held().length === PARTITIONS, 'the other runner to hold everything')
		for (const release of a.releases.values()) expect(release.lost).toBe(false)
		expect(b.ownership.stats.takeovers).toBe(0)
	})

	it('a runner cut off from Redis closes its sessions before its leases expire; the others take them only after', async () => {
		newWorld()
		const ttlMs = 900
		const a = await startRunner('runner-a', { ttlMs, marginMs: 250 })
		const b = await startRunner('runner-b', { ttlMs, marginMs: 250 })
		await until(() => counts().join() === '4,4', 'an even split')
		const fences = new Map(a.held().map((p) => [p, a.ownership.fence(p)]))
		a.cutOff(true)
		await until(() => b.held().length === PARTITIONS, 'the other runner to take everything over')
		for (const [p, fence] of fences) {
			const released = a.releases.get(p)!
			expect(released.lost).toBe(true)
			// Its sockets closed while its lease was still alive in Redis; taken over after that.
			expect(released.leaseAlive).toBe(true)
			// Nobody else could hold it yet: the sessions may say they are reconnecting.
			expect(released.taken).toBe(false)
			expect(b.claims.get(p)!).toBeGreaterThan(released.step)
			expect(b.ownership.fence(p)).toBeGreaterThan(fence)
			expect(a.ownership.holds(p)).toBe(false)
		}
		expect(a.ownership.stats.selfFenced).toBe(4)
		expect(b.ownership.stats.takeovers).toBe(4)

		// Back in touch, it gets a fair share again, through graceful handovers.
		a.cutOff(false)
		await until(() => counts().join() === '4,4', 'an even split again')
	})

	it('a runner that wakes up past its leases’ expiry gives them up as taken: its sessions close without a word', async () => {
		newWorld()
		const a = await startRunner('runner-a')
		const b = await startRunner('runner-b')
		await until(() => counts().join() === '4,4', 'an even split')
		const mine = a.held()
		// Frozen (a paused VM): no renewal went out, and its clock shows the leases long expired.
		a.cutOff(true)
		a.jump(5_000)
		await until(() => a.held().length === 0, 'the frozen runner to let go')
		for (const p of mine) expect(a.releases.get(p)).toMatchObject({ lost: true, taken: true })
		await until(() => b.held().length === PARTITIONS, 'the other runner to take everything over')
	})

	it('stops trusting a partition as soon as its last renewal is too old, before the watchdog has run', async () => {
		newWorld()
		// A clock that only moves when the test says so.
		let now = 0
		const { store } = cutOffable(createRedisLeaseStore({ redis, prefix: world.prefix.prefix, partitions: PARTITIONS, commandTimeoutMs: 300 }))
		const ownership = leaseOwnership({
			store,
			runnerId: 'paused',
			partitions: PARTITIONS,
			ttlMs: 60_000,
			renewEveryMs: 20_000,
			safetyMarginMs: 10_000,
			logger,
			now: () => now,
		})
		await ownership.start({ claim: async () => {}, release: async () => {} })
		world.runners.push({
			id: 'paused',
			ownership,
			cutOff: () => {},
			jump: (ms) => {
				now += ms
			},
			held: () => [],
			releases: new Map(),
			claims: new Map(),
			stop: () => ownership.stop(),
		})
		expect(ownership.holds(0)).toBe(true)
		now += 50_001 // as if the process had been paused for 50 s
		expect(ownership.holds(0)).toBe(false)
	})
})
