import { afterAll, beforeAll, describe, expect, it } from 'bun:test'
import type { RedisClient } from '../../src/lib/redis-client'
import pino from 'pino'
import { createRedisLeaseStore, leaseKeys, type LeaseStore } from '../../src/roles/runner/leases'
import { closeRedis, openRedis } from '../../src/redis/connection'
import { createTestRedisPrefix, REDIS_TEST_URL, scanKeys } from '../helpers/redis'
import { until } from '../helpers/until'

const logger = pino({ level: 'silent' })
const PARTITIONS = 8
/**
 * Long enough that a step taken at half of it lands well within it on a loaded host (at 300 ms, a
 * renewal sent with 150 ms left arrived after expiry while three test files ran beside it).
 */
const TTL = 1_500

let redis: RedisClient
let prefix: ReturnType<typeof createTestRedisPrefix>
let store: LeaseStore

beforeAll(() => {
	redis = openRedis(REDIS_TEST_URL, logger, 'lease-test')
	prefix = createTestRedisPrefix()
	store = createRedisLeaseStore({ redis, prefix: prefix.prefix, partitions: PARTITIONS, commandTimeoutMs: 1_000 })
})
afterAll(async () => {
	await store.close()
	await prefix.cleanup()
	await closeRedis(redis)
})

/**
 * Resolves once the lease of `partition` has at most `ms` left to live on Redis' clock. Expiry is
 * Redis' own here, so real time has to pass; the key says when enough has.
 */
async function untilRemaining(partition: number, ms: number) {
	const key = leaseKeys(prefix.prefix, partition).lease
	await until(async () => (await redis.pttl(key)) <= ms, `the lease of partition ${partition} to have ${ms} ms left`)
}

describe('partition leases in Redis', () => {
	it('acquires a free partition with a fencing token, and nobody else gets it while it is held', async () => {
		const [a] = await store.acquire([0], 'runner-a', TTL)
		expect(a).toMatchObject({ partition: 0, holder: 'runner-a', expiredHolder: null })
		expect(a!.fence).toBeGreaterThan(0)
		expect(await store.acquire([0], 'runner-b', TTL)).toEqual([null])
		expect(await store.acquire([0], 'runner-a', TTL)).toEqual([null])
		expect((await store.fleet()).partitions[0]).toEqual({ partition: 0, holder: 'runner-a', fence: a!.fence })
	})

	it('renews only the holder’s own lease, so a held lease outlives its TTL', async () => {
		const [a] = await store.acquire([1], 'runner-a', TTL)
		const forged = { ...a!, holder: 'runner-b' }
		// Renewed whenever half its TTL has run out on Redis' clock: three renewals keep it for one
		// and a half TTLs at least.
		for (let i = 0; i < 3; i++) {
			await untilRemaining(1, TTL / 2)
			expect(await store.renew([a!, forged], TTL)).toEqual([true, false])
		}
		expect(await store.acquire([1], 'runner-b', TTL)).toEqual([null])
		expect(await store.renew([{ ...a!, fence: a!.fence - 1 }], TTL)).toEqual([false])
	})

	it('lets another runner take a lease only once it expired unrenewed, with a larger fence, naming the holder it took over from', async () => {
		const [a] = await store.acquire([2], 'runner-a', TTL)
		await untilRemaining(2, TTL / 2)
		expect(await store.acquire([2], 'runner-b', TTL)).toEqual([null])
		await until(async () => (await redis.exists(leaseKeys(prefix.prefix, 2).lease)) === 0, 'the unrenewed lease to expire')
		const [b] = await store.acquire([2], 'runner-b', TTL)
		expect(b).toMatchObject({ holder: 'runner-b', expiredHolder: 'runner-a' })
		expect(b!.fence).toBeGreaterThan(a!.fence)
		// The old holder cannot get it back by renewing.
		expect(await store.renew([a!], TTL)).toEqual([false])
	})

	it('releases a lease only for its holder; a released partition is free at once and not counted as a takeover', async () => {
		const [a] = await store.acquire([3], 'runner-a', 60_000)
		expect(await store.release({ ...a!, holder: 'runner-b' })).toBe(false)
		expect(await store.release({ ...a!, fence: a!.fence + 1 })).toBe(false)
		expect(await store.release(a!)).toBe(true)
		expect(await store.release(a!)).toBe(false)
		const [b] = await store.acquire([3], 'runner-b', TTL)
		expect(b).toMatchObject({ holder: 'runner-b', expiredHolder: null })
	})

	it('hands out strictly increasing fences, also after the counter was lost with Redis’ data', async () => {
		const fences: number[] = []
		for (let i = 0; i < 5; i++) {
			const [lease] = await store.acquire([4], `runner-${i}`, 60_000)
			fences.push(lease!.fence)
			await store.release(lease!)
		}
		await redis.del(leaseKeys(prefix.prefix, 4).owner)
		const [afterLoss] = await store.acquire([4], 'runner-x', 60_000)
		fences.push(afterLoss!.fence)
		expect(fences).toEqual([...fences].sort((x, y) => x - y))
		expect(new Set(fences).size).toBe(fences.length)
	})

	it('keeps every key of a partition under its stream’s hash tag and the key prefix', async () => {
		const keys = leaseKeys(prefix.prefix, 7)
		expect(keys.lease).toBe(`${prefix.prefix}session-commands:{7}:lease`)
		expect(keys.owner).toBe(`${prefix.prefix}session-commands:{7}:owner`)
		await store.acquire([7], 'runner-a', TTL)
		const found = await scanKeys(redis, `${prefix.prefix}*{7}*`)
		expect(found.sort()).toEqual([keys.lease, keys.owner].sort())
	})
})

describe('runner heartbeats', () => {
	it('lists the runners whose heartbeat has not expired, and forgets one that leaves', async () => {
		expect(await store.heartbeat('runner-b', TTL)).toEqual(['runner-b'])
		expect(await store.heartbeat('runner-a', 60_000)).toEqual(['runner-a', 'runner-b'])
		expect((await store.fleet()).runners).toEqual(['runner-a', 'runner-b'])
		await until(async () => !(await store.fleet()).runners.includes('runner-b'), 'runner-b’s heartbeat to expire')
		expect(await store.heartbeat('runner-c', 60_000)).toEqual(['runner-a', 'runner-c'])
		await store.leave('runner-a')
		expect((await store.fleet()).runners).toEqual(['runner-c'])
	})

	it('tells every listener which runner announced a change', async () => {
		const other = createRedisLeaseStore({ redis, prefix: prefix.prefix, partitions: PARTITIONS, commandTimeoutMs: 1_000 })
		const heard: string[] = []
		let first!: () => void
		const announced = new Promise<void>((resolve) => (first = resolve))
		await other.onAnnouncement((runner) => {
			heard.push(runner)
			first()
		})
		await store.announce('runner-a')
		await announced
		expect(heard).toEqual(['runner-a'])
		await other.close()
	})
})
