import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'bun:test'
import { isNotNull, isNull, sql } from 'drizzle-orm'
import type { RedisClient } from '../../src/lib/redis-client'
import pino from 'pino'
import type { Database } from '../../src/db/client'
import { outbox, tenants } from '../../src/db/schema'
import type { Bus, StreamEntry } from '../../src/bus/bus'
import { enqueue } from '../../src/bus/outbox'
import { createRedisBus } from '../../src/bus/redis-bus'
import { createRelay, type Relay } from '../../src/bus/relay'
import { commandStream, DOMAIN_EVENTS } from '../../src/core/streams'
import { closeRedis, openRedis } from '../../src/redis/connection'
import { openTestDatabase, type OpenTestDatabase } from '../helpers/database'
import { createTestRedisPrefix, REDIS_TEST_URL } from '../helpers/redis'
import { condition, qrEvent, SESSION, stopCommand } from './helpers'
import { rejectionOf } from '../helpers/rejection'

const logger = pino({ level: process.env.TEST_LOG_LEVEL ?? 'silent' })
let testDb: OpenTestDatabase
let database: Database
let redis: RedisClient
let prefix: ReturnType<typeof createTestRedisPrefix>
let bus: Bus
const relays: Relay[] = []

beforeAll(async () => {
	testDb = await openTestDatabase(8)
	database = testDb.database
	redis = openRedis(REDIS_TEST_URL, logger, 'outbox-test')
})
afterAll(async () => {
	await closeRedis(redis)
	await testDb.close()
})
beforeEach(async () => {
	prefix = createTestRedisPrefix()
	bus = createRedisBus({ redis, prefix: prefix.prefix, partitions: 4, logger })
	await database.db.delete(outbox)
})
afterEach(async () => {
	for (const r of relays.splice(0)) await r.stop()
	await bus.close()
	await prefix.cleanup()
})

function relay(options: Partial<Parameters<typeof createRelay>[0]> = {}) {
	const r = createRelay({ database, bus, logger, ...options })
	relays.push(r)
	return r
}

const published = async (stream = DOMAIN_EVENTS) => (await bus.read(stream, { after: '0', count: 100_000 })).map((e) => e.envelope.id)

describe('the transactional outbox', () => {
	it('publishes nothing from a rolled-back transaction', async () => {
		const event = qrEvent()
		const failing = database.db.transaction(async (tx) => {
			await tx.insert(tenants).values({ id: Bun.randomUUIDv7(), name: 'rolled back' })
			await enqueue(tx, event)
			throw new Error('the state change failed')
		})
		expect(await rejectionOf(failing)).toMatchObject({ message: expect.stringContaining('the state change failed') })
		expect(await relay().flush()).toBe(0)
		expect(await published()).toEqual([])
	})

	it('publishes what a committed transaction enqueued and marks it published', async () => {
		const event = qrEvent()
		await database.db.transaction(async (tx) => {
			await tx.insert(tenants).values({ id: Bun.randomUUIDv7(), name: 'committed' })
			await enqueue(tx, event)
		})
		expect(await relay().flush()).toBe(1)
		expect(await published()).toEqual([event.id])
		const rows = await database.db.select().from(outbox)
		expect(rows).toHaveLength(1)
		expect(rows[0]).toMatchObject({ eventId: event.id, type: 'session.qr.updated', stream: DOMAIN_EVENTS, payload: event })
		expect(rows[0]!.publishedAt).toBeInstanceOf(Date)
	})

	it('sends commands to their session’s partition', async () => {
		const cmd = stopCommand()
		await enqueue(database.db, cmd)
		await relay().flush()
		expect(await published(commandStream(SESSION, 4))).toEqual([cmd.id])
	})

	it('publishes in outbox order across batches', async () => {
		const events = Array.from({ length: 1_050 }, () => qrEvent())
		for (let i = 0; i < events.length; i += 50) await enqueue(database.db, events.slice(i, i + 50))
		expect(await relay({ batchSize: 100 }).flush()).toBe(1_050)
		expect(await published()).toEqual(events.map((e) => e.id))
	})

	it('lets two relays run at once without publishing a row twice or out of order', async () => {
		const events = Array.from({ length: 2_000 }, () => qrEvent())
		const a = relay({ batchSize: 50 })
		const b = relay({ batchSize: 50 })
		let enqueued = 0
		const writer = (async () => {
			for (; enqueued < events.length; enqueued += 100) await enqueue(database.db, events.slice(enqueued, enqueued + 100))
		})()
		const pending = async () => (await database.db.select({ n: sql<number>`count(*)::int` }).from(outbox).where(isNull(outbox.publishedAt)))[0]!.n
		while (enqueued < events.length || (await pending()) > 0) await Promise.all([a.runOnce(), b.runOnce(), a.runOnce()])
		await writer
		const ids = await published()
		expect(ids.length).toBe(events.length)
		expect(ids).toEqual(events.map((e) => e.id))
	})

	it('publishes right after a nudge instead of waiting for its timer', async () => {
		const r = relay({ intervalMs: 60_000 })
		r.start()
		const abort = new AbortController()
		const seen: StreamEntry[] = []
		const arrived = condition()
		const tail = (async () => {
			for await (const batch of bus.tail(DOMAIN_EVENTS, { after: '0', signal: abort.signal, blockMs: 200 })) {
				seen.push(...batch)
				arrived.notify()
			}
		})()
		// The first tick runs at start; wait for it to find nothing before enqueueing.
		await r.flush()
		const event = qrEvent()
		await enqueue(database.db, event)
		r.nudge()
		await arrived.until(() => seen.length === 1, 2_000, 'the nudged publish')
		expect(seen[0]!.envelope.id).toBe(event.id)
		abort.abort()
		await tail
	})

	it('keeps publishing on its timer', async () => {
		const r = relay({ intervalMs: 20 })
		r.start()
		const event = qrEvent()
		await enqueue(database.db, event)
		const abort = new AbortController()
		for await (const batch of bus.tail(DOMAIN_EVENTS, { after: '0', signal: abort.signal, blockMs: 200 })) {
			expect(batch[0]!.envelope.id).toBe(event.id)
			break
		}
	})

	it('prunes published rows past the retention and keeps the rest', async () => {
		await enqueue(database.db, [qrEvent(), qrEvent(), qrEvent()])
		const r = relay({ batchSize: 2, retentionMs: 60_000 })
		await r.runOnce()
		await enqueue(database.db, qrEvent())
		await database.db
			.update(outbox)
			.set({ publishedAt: new Date(Date.now() - 120_000) })
			.where(isNotNull(outbox.publishedAt))
		expect(await r.prune()).toBe(2)
		const left = await database.db.select().from(outbox)
		expect(left).toHaveLength(2)
		expect(left.every((row) => row.publishedAt === null)).toBe(true)
	})
})
