import { afterAll, afterEach, beforeAll, describe, expect, it } from 'bun:test'
import { eq } from 'drizzle-orm'
import { hostname } from 'node:os'
import type { RedisClient } from '../../src/lib/redis-client'
import { loadConfig, type Config } from '../../src/config'
import { openPostgres, type Database } from '../../src/db/client'
import { sessionChats, sessionMessages } from '../../src/db/schema'
import { compareIds, type Bus } from '../../src/bus/bus'
import { enqueue } from '../../src/bus/outbox'
import { createRedisBus, streamKey } from '../../src/bus/redis-bus'
import { deadLetterStream, DOMAIN_EVENTS } from '../../src/core/streams'
import { createLogger } from '../../src/logger'
import { closeRedis, openRedis } from '../../src/redis/connection'
import { CONSUMER_GROUP } from '../../src/core/streams'
import { start as startConsumer } from '../../src/roles/consumer'
import { superviseWorker, type SupervisorEvent, type ToWorker } from '../../src/roles/supervisor'
import type { RoleHandle } from '../../src/roles/types'
import { startTestApp, type TestApp } from '../helpers/app'
import { spawnServer } from '../helpers/process'
import { createTestDatabase, type TestDatabase } from '../helpers/database'
import { createTestRedisPrefix, REDIS_TEST_URL } from '../helpers/redis'
import { countMessages, createSession, event, historyBatches, message, snapshot } from './fixtures'
import { until } from '../helpers/until'
import { condition } from './helpers'

const CONSUMER_WORKER = new URL('../../src/roles/consumer/worker.ts', import.meta.url)

let testDb: TestDatabase
let prefix: ReturnType<typeof createTestRedisPrefix>
let config: Config
let database: Database
let redis: RedisClient
let bus: Bus
const cleanups: (() => Promise<unknown>)[] = []

beforeAll(async () => {
	testDb = await createTestDatabase()
	prefix = createTestRedisPrefix()
	config = loadConfig({
		NODE_ENV: 'test',
		DATABASE_URL: testDb.url,
		REDIS_URL: REDIS_TEST_URL,
		REDIS_PREFIX: prefix.prefix,
		LOG_LEVEL: process.env.TEST_LOG_LEVEL ?? 'silent',
		EVENT_CLAIM_IDLE_MS: '300',
		EVENT_MAX_DELIVERIES: '2',
		CONSUMER_BATCH_SIZE: '4',
	})
	database = openPostgres({ url: testDb.url, max: 4 })
	redis = openRedis(REDIS_TEST_URL, createLogger(config), 'roles-test')
	bus = createRedisBus({ redis, prefix: prefix.prefix, partitions: config.events.commandPartitions, logger: createLogger(config) })
})
afterEach(async () => {
	for (const cleanup of cleanups.splice(0).reverse()) await cleanup()
	await redis.del(streamKey(prefix.prefix, DOMAIN_EVENTS), streamKey(prefix.prefix, deadLetterStream(DOMAIN_EVENTS)))
})
afterAll(async () => {
	await bus.close()
	await closeRedis(redis)
	await database.close()
	await testDb.drop()
	await prefix.cleanup()
})

async function consumerInline(overrides: Partial<Config['events']> = {}): Promise<RoleHandle> {
	const logger = createLogger(config).child({ role: 'consumer' })
	const handle = await startConsumer({ config: { ...config, events: { ...config.events, ...overrides } }, logger, database, bus, redis })
	cleanups.push(() => handle.stop())
	return handle
}

describe('the consumer role', () => {
	it('loses and duplicates nothing when a consumer is killed mid-batch and another takes over', async () => {
		const meta = await createSession(database.db, 'killed')
		const batches = historyBatches(meta, 20_000, { chats: 200 })
		await bus.publish(batches)

		// A real consumer worker, killed the hard way while it holds unacknowledged entries. Once it
		// has committed some batches, a lock on the chats table holds its next transactions inside
		// the batch, so the kill lands mid-batch every time.
		const victim = new Worker(CONSUMER_WORKER)
		victim.postMessage({ type: 'start', config } satisfies ToWorker)
		await until(async () => (await countMessages(database.db, meta.sessionId)) > 0, 'the first committed batch')
		const blocker = await database.sql!.reserve()
		await blocker`begin`
		await blocker`lock table session_chats in share row exclusive mode`
		await until(async () => {
			const [waiting] = await blocker<
				{ n: number }[]
			>`select count(*)::int as n from pg_stat_activity where application_name = 'switchboard-consumer' and wait_event_type = 'Lock'`
			return waiting!.n > 0
		}, 'the first consumer to wait inside a batch')
		const closed = new Promise((resolve) => victim.addEventListener('close', resolve))
		victim.terminate()
		await closed
		await blocker`rollback`
		blocker.release()
		const writtenByVictim = await countMessages(database.db, meta.sessionId)
		expect(writtenByVictim).toBeGreaterThan(0)
		expect(writtenByVictim).toBeLessThan(20_000)
		expect(await bus.pendingCount(DOMAIN_EVENTS, CONSUMER_GROUP)).toBeGreaterThan(0)

		await consumerInline()
		await until(
			async () => (await bus.pendingCount(DOMAIN_EVENTS, CONSUMER_GROUP)) === 0 && (await countMessages(database.db, meta.sessionId)) === 20_000,
			'the second consumer to finish',
		)
		const rows = await database.db
			.select({ id: sessionMessages.messageId, text: sessionMessages.text })
			.from(sessionMessages)
			.where(eq(sessionMessages.sessionId, meta.sessionId))
		expect(rows).toHaveLength(20_000)
		expect(new Set(rows.map((r) => r.id)).size).toBe(20_000)
		expect(rows.find((r) => r.id === `3EB0${(12_345).toString(16).toUpperCase().padStart(18, '0')}`)!.text).toStartWith('history message 12345:')
		expect(await database.db.select().from(sessionChats).where(eq(sessionChats.sessionId, meta.sessionId))).toHaveLength(200)
		expect(await bus.deadLetters(DOMAIN_EVENTS)).toEqual([])
	}, 60_000)

	it('changes nothing when every event is delivered twice', async () => {
		const meta = await createSession(database.db, 'twice')
		const events = [
			event(meta, 'session.qr.updated', { qr: 'qr' }),
			event(meta, 'session.status.connected', { jid: '4915100000099@s.whatsapp.net' }),
			...historyBatches(meta, 600),
			event(meta, 'session.messages.update', { updates: [{ key: message('M').key, status: 3 }] }),
			event(meta, 'session.messages.upsert', { type: 'notify', messages: [message('M', { status: 2 })] }),
			event(meta, 'session.contacts.upsert', { contacts: [{ jid: '4915100000002@s.whatsapp.net', name: 'Bob' }] }),
			event(meta, 'session.chats.upsert', { chats: [{ jid: '4915100000002@s.whatsapp.net', unreadCount: 1 }] }),
			event(meta, 'session.command.failed', { commandId: Bun.randomUUIDv7(), command: 'session.start', error: { code: 'X', message: 'y' } }),
			event(meta, 'session.status.disconnected', { status: 'stopped', reason: 'stopped' }),
		]
		await consumerInline()
		// The consumer runs several loops at once, so a marker stored says nothing about the entries
		// before it: wait until the group has acknowledged everything up to the last one published.
		const settled = async (published: { id: string }[]) => {
			const last = published.at(-1)!.id
			await until(async () => {
				const progress = await bus.groupProgress(DOMAIN_EVENTS, CONSUMER_GROUP)
				return progress !== null && compareIds(progress.lastDeliveredId, last) >= 0 && progress.pendingCount === 0
			}, 'every entry acknowledged')
		}
		const marker = (jid: string) => event(meta, 'session.chats.upsert', { chats: [{ jid }] })
		await settled(await bus.publish([...events, marker('1@s.whatsapp.net')]))
		const once = await snapshot(database.db, meta.sessionId)
		await settled(await bus.publish([...events, marker('2@s.whatsapp.net')]))
		const twice = await snapshot(database.db, meta.sessionId)
		twice.chats = twice.chats.filter((c) => c.jid !== '2@s.whatsapp.net')
		expect(twice).toEqual(once)
	})

	it('sends an entry whose handler keeps throwing to the dead stream and persists the others', async () => {
		const meta = await createSession(database.db, 'poison')
		// Passes the catalogue, fails in Postgres: text columns cannot hold NUL.
		const poison = event(meta, 'session.messages.upsert', { type: 'notify', messages: [message('P', { text: 'nul \u0000 byte' })] })
		const fine = event(meta, 'session.messages.upsert', { type: 'notify', messages: [message('F')] })
		await consumerInline({ claimIdleMs: 50 })
		await bus.publish([poison, fine])
		await redis.xadd(`${prefix.prefix}${DOMAIN_EVENTS}`, '*', 'envelope', '{"type":"session.messages.upsert"}')
		await until(async () => (await bus.deadLetters(DOMAIN_EVENTS)).length === 2, 'two dead letters')
		const dead = await bus.deadLetters(DOMAIN_EVENTS)
		expect(JSON.parse(dead.find((d) => d.deliveries === 2)!.payload!).id).toBe(poison.id)
		expect(dead.find((d) => d.deliveries === 2)!.error).toMatch(/0x00|\\u0000/)
		expect(dead.find((d) => d.deliveries === 1)!.error).toStartWith('invalid session.messages.upsert')
		expect((await snapshot(database.db, meta.sessionId)).messages.map((m) => m.messageId)).toEqual(['F'])
		expect(await bus.pendingCount(DOMAIN_EVENTS, CONSUMER_GROUP)).toBe(0)
	})
})

describe('role workers', () => {
	it('restarts a worker that crashed, with a backoff, and logs it; it is not running from the crash until it is ready again', async () => {
		const events: SupervisorEvent[] = []
		const running: boolean[] = []
		const changed = condition()
		const worker = superviseWorker({
			name: 'crashing',
			url: new URL('./fixtures/crashing.worker.ts', import.meta.url),
			config,
			logger: createLogger(config),
			restartDelayMs: 50,
			onEvent: (e) => {
				events.push(e)
				running.push(worker.running)
				changed.notify()
			},
		})
		expect(worker.running).toBe(false)
		cleanups.push(() => worker.stop())
		await changed.until(() => events.some((e) => e.type === 'ready' && e.generation === 2), 10_000, 'the restarted worker')
		expect(worker.restarts).toBe(1)
		expect(events).toEqual([
			{ type: 'ready', generation: 1 },
			{ type: 'exit', generation: 1, code: expect.any(Number), expected: false },
			{ type: 'restart', generation: 1, delayMs: 50 },
			{ type: 'ready', generation: 2 },
		])
		expect(running).toEqual([true, false, false, true])
	})

	it('stops a worker with a stop message: it drains, closes its connections and exits by itself', async () => {
		const meta = await createSession(database.db, 'stopped')
		const events: SupervisorEvent[] = []
		const readersBefore = await readersOfThisProcess()
		// The fallback that terminates a worker would only come after the test's own timeout: an
		// exit seen here is the worker's own.
		const worker = superviseWorker({
			name: 'consumer',
			url: CONSUMER_WORKER,
			config,
			logger: createLogger(config),
			stopTimeoutMs: 600_000,
			onEvent: (e) => events.push(e),
		})
		cleanups.push(() => worker.stop())
		await worker.ready
		const published = await bus.publish(historyBatches(meta, 10_000))
		await until(async () => (await countMessages(database.db, meta.sessionId)) > 0, 'the first stored batch')
		const readers = (await readersOfThisProcess()).filter((name) => !readersBefore.includes(name))
		expect(readers.length).toBeGreaterThan(0)
		expect(await postgresConnections('switchboard-consumer')).toBeGreaterThan(0)

		await worker.stop()
		expect(events.at(-1)).toEqual({ type: 'exit', generation: 1, code: 0, expected: true })
		// Nothing it took is lost: every entry delivered to it was stored and acknowledged.
		const progress = (await bus.groupProgress(DOMAIN_EVENTS, CONSUMER_GROUP))!
		expect(progress.pendingCount).toBe(0)
		const delivered = published.filter((p) => compareIds(p.id, progress.lastDeliveredId) <= 0).length
		expect(await countMessages(database.db, meta.sessionId)).toBe(delivered * 500)
		// Its blocking readers are gone from Redis and its pool from PostgreSQL; each server notices
		// a moment after the worker hung up.
		await until(async () => !(await readersOfThisProcess()).some((name) => readers.includes(name)), 'the worker’s Redis readers to close')
		await until(async () => (await postgresConnections('switchboard-consumer')) === 0, 'the worker’s PostgreSQL connections to end')
	})
})

/** Names of the Redis connections that consumers of this process (any thread) block on. */
async function readersOfThisProcess(): Promise<string[]> {
	const prefix = `switchboard:reader:${hostname()}-${process.pid}-`
	const list = (await redis.client('LIST')) as string
	return list
		.split('\n')
		.map((line) => /(?:^| )name=(\S*)/.exec(line)?.[1] ?? '')
		.filter((name) => name.startsWith(prefix))
}

/** Connections to this file's database with `application_name`. */
async function postgresConnections(applicationName: string): Promise<number> {
	const [row] = await database.sql!<
		{ n: number }[]
	>`select count(*)::int as n from pg_stat_activity where datname = current_database() and application_name = ${applicationName}`
	return row!.n
}

describe('the server’s roles', () => {
	let app: TestApp
	afterEach(async () => {
		await app?.close()
	})

	it('runs the consumer in a worker with PostgreSQL and Redis, fed by the outbox relay', async () => {
		app = await startTestApp({ ROLES: 'api,consumer' })
		expect(app.server.roles.started).toEqual([{ role: 'consumer', mode: 'worker' }])
		await app.server.roles.ready
		const db = app.server.database.db
		const meta = await createSession(db, 'served')
		await db.transaction((tx) => enqueue(tx, event(meta, 'session.messages.upsert', { type: 'notify', messages: [message('via-outbox')] })))
		app.server.relay!.nudge()
		await until(async () => (await countMessages(db, meta.sessionId)) === 1, 'the message row')
	})
})

describe('the server process', () => {
	it('stops its role workers and exits on SIGTERM', async () => {
		const db = await createTestDatabase()
		const keys = createTestRedisPrefix()
		try {
			// No drain is cut short before the test's own timeout: an exit seen here is a clean one.
			const { proc, stdout } = await spawnServer({
				NODE_ENV: 'test',
				DATABASE_URL: db.url,
				REDIS_URL: REDIS_TEST_URL,
				REDIS_PREFIX: keys.prefix,
				SHUTDOWN_TIMEOUT_MS: '600000',
			})
			proc.kill('SIGTERM')
			expect(await proc.exited).toBe(0)
			const logs = (await stdout)
				.split('\n')
				.filter(Boolean)
				.map((line) => JSON.parse(line) as { msg: string; role?: string; code?: number })
			const stoppedWorkers = logs.filter((l) => l.msg === 'worker stopped').map((l) => ({ role: l.role, code: l.code }))
			expect(stoppedWorkers.sort((x, y) => x.role!.localeCompare(y.role!))).toEqual([
				{ role: 'consumer', code: 0 },
				{ role: 'runner', code: 0 },
				{ role: 'webhooks', code: 0 },
			])
			expect(logs.at(-1)!.msg).toBe('stopped')
		} finally {
			await db.drop()
			await keys.cleanup()
		}
	})
})
