import { and, eq } from 'drizzle-orm'
import type { RedisClient } from '../../src/lib/redis-client'
import { loadConfig, type Config } from '../../src/config'
import { openPostgres, type Database } from '../../src/db/client'
import { sessionAuth, sessionMessages, sessions, tenants } from '../../src/db/schema'
import { createBus, type Bus } from '../../src/bus'
import {
	command,
	type AnyEnvelope,
	type CommandDataOf,
	type CommandType,
	type DomainEvent,
	type DomainEventType,
	type Envelope,
} from '../../src/core/catalogue'
import { createLogger, type Logger } from '../../src/logger'
import { closeRedis, openRedis } from '../../src/redis/connection'
import { start as startConsumer } from '../../src/roles/consumer'
import { start as startRunnerRole } from '../../src/roles/runner'
import type { RoleHandle } from '../../src/roles/types'
import { startStandIn, type StandIn, type StartOptions } from '@switchboard/standin'
import { createTestDatabase, type TestDatabase } from '../helpers/database'
import { createTestRedisPrefix, REDIS_TEST_URL } from '../helpers/redis'
import { followEvents } from '../helpers/event-log'
import { until } from '../helpers/until'

export interface SessionRef {
	tenantId: string
	sessionId: string
}

/**
 * The runner and consumer roles against a database and a Redis prefix of their own, pointed at a
 * stand-in: a `session.start` command goes in, rows come out. `events` records every domain event
 * the runner published, in stream order, so a test awaits the one it expects.
 */
export interface RunnerHarness {
	standIn: StandIn
	config: Config
	database: Database
	bus: Bus
	/** Every domain event so far, in stream order. */
	readonly events: DomainEvent[]
	createSession(options?: { phoneNumber?: string; name?: string }): Promise<SessionRef>
	command<K extends CommandType>(type: K, ref: SessionRef, data: CommandDataOf<K>): Promise<Envelope<K>>
	/** Resolves with the first event after `after` (an index into `events`) that matches. */
	waitForEvent<K extends DomainEventType>(
		ref: SessionRef,
		type: K,
		options?: { after?: number; where?: (e: Envelope<K>) => boolean; timeoutMs?: number },
	): Promise<Envelope<K>>
	eventsOf<K extends DomainEventType>(ref: SessionRef, type: K, after?: number): Envelope<K>[]
	session(ref: SessionRef): Promise<typeof sessions.$inferSelect>
	untilStatus(ref: SessionRef, status: string, timeoutMs?: number): Promise<typeof sessions.$inferSelect>
	hasCreds(ref: SessionRef): Promise<boolean>
	message(ref: SessionRef, messageId: string): Promise<typeof sessionMessages.$inferSelect | undefined>
	/** What the API does for POST /sessions/:id/stop: desired state stopped, then the command; resolves once stopped. */
	stop(ref: SessionRef): Promise<void>
	/** Start → QR → scanned by `phone` → connected; returns the time from command to connected. */
	pairByQr(ref: SessionRef, phone: string, name?: string): Promise<{ ms: number }>
	/**
	 * Starts the runner; `bus` lets a test put itself between the runner and the bus, `database` gives
	 * it a connection pool of its own (through a proxy, say).
	 */
	startRunner(env?: Record<string, string>, options?: { bus?: (bus: Bus) => Bus; database?: Database }): Promise<RoleHandle>
	stopRunner(): Promise<void>
	close(): Promise<void>
}

export async function startHarness({
	standIn: standInOptions = {},
	env = {},
}: {
	standIn?: StartOptions
	env?: Record<string, string>
} = {}): Promise<RunnerHarness> {
	const standIn = await startStandIn({ onError: () => {}, ...standInOptions })
	const testDb: TestDatabase = await createTestDatabase()
	const prefix = createTestRedisPrefix()
	const baseEnv: Record<string, string> = {
		NODE_ENV: 'test',
		DATABASE_URL: testDb.url,
		REDIS_URL: REDIS_TEST_URL,
		REDIS_PREFIX: prefix.prefix,
		LOG_LEVEL: process.env.TEST_LOG_LEVEL ?? 'silent',
		WA_WEBSOCKET_URL: standIn.wsUrl,
		WA_ROOT_PUBLIC_KEY: standIn.rootPublicKey,
		WA_MEDIA_CA_FILE: standIn.mediaCa.path,
		WA_RECONNECT_BASE_MS: '40',
		WA_RECONNECT_MAX_MS: '400',
		WA_RECONNECT_MAX_ATTEMPTS: '5',
		COMMAND_PARTITIONS: '4',
		EVENT_CLAIM_IDLE_MS: '2000',
		MEDIA_DIR: process.env.MEDIA_DIR!,
		...env,
	}
	const config = loadConfig(baseEnv)
	const logger: Logger = createLogger(config)
	const database = openPostgres({ url: testDb.url, max: 8 })
	const redis: RedisClient = openRedis(REDIS_TEST_URL, logger, 'runner-test')
	const bus = createBus(config, logger, redis)
	const consumer = await startConsumer({ config, logger: logger.child({ role: 'consumer' }), database, bus, redis })

	const log = followEvents(bus)
	const events = log.events

	let runner: RoleHandle | null = null
	const h: RunnerHarness = {
		standIn,
		config,
		database,
		bus,
		events,
		async createSession({ phoneNumber, name = 'test' } = {}) {
			const tenantId = Bun.randomUUIDv7()
			const sessionId = Bun.randomUUIDv7()
			await database.db.insert(tenants).values({ id: tenantId, name: `tenant-${name}` })
			await database.db.insert(sessions).values({ id: sessionId, tenantId, name, status: 'starting', phoneNumber })
			return { tenantId, sessionId }
		},
		async command(type, ref, data) {
			const envelope = command(type, ref, data)
			await bus.publish([envelope as AnyEnvelope])
			return envelope
		},
		eventsOf: (ref, type, after) => log.eventsOf(ref.sessionId, type, after),
		waitForEvent: (ref, type, options) => log.waitFor(type, ref.sessionId, options),
		async session(ref) {
			const [row] = await database.db.select().from(sessions).where(eq(sessions.id, ref.sessionId))
			if (!row) throw new Error(`no session ${ref.sessionId}`)
			return row
		},
		untilStatus(ref, status, timeoutMs) {
			return until(
				async () => {
					const row = await h.session(ref)
					return row.status === status && row
				},
				`session status ${status}`,
				timeoutMs,
			)
		},
		async hasCreds(ref) {
			const rows = await database.db.select({ id: sessionAuth.sessionId }).from(sessionAuth).where(eq(sessionAuth.sessionId, ref.sessionId))
			return rows.length > 0
		},
		async message(ref, messageId) {
			const [row] = await database.db
				.select()
				.from(sessionMessages)
				.where(and(eq(sessionMessages.sessionId, ref.sessionId), eq(sessionMessages.messageId, messageId)))
			return row
		},
		async stop(ref) {
			const after = events.length
			await database.db.update(sessions).set({ desiredState: 'stopped' }).where(eq(sessions.id, ref.sessionId))
			await h.command('session.stop', ref, {})
			await h.waitForEvent(ref, 'session.status.disconnected', { after, where: (e) => e.data.status === 'stopped' })
			await h.untilStatus(ref, 'stopped')
		},
		async pairByQr(ref, phone, name) {
			const after = events.length
			const started = performance.now()
			await h.command('session.start', ref, {})
			const { data } = await h.waitForEvent(ref, 'session.qr.updated', { after })
			await standIn.scanQr(data.qr, phone, name)
			await h.waitForEvent(ref, 'session.status.connected', { after })
			return { ms: performance.now() - started }
		},
		async startRunner(extra = {}, options = {}) {
			if (runner) throw new Error('a runner is already running')
			const runnerConfig = Object.keys(extra).length ? loadConfig({ ...baseEnv, ...extra }) : config
			const runnerBus = options.bus?.(bus) ?? bus
			runner = await startRunnerRole({
				config: runnerConfig,
				logger: logger.child({ role: 'runner' }),
				database: options.database ?? database,
				bus: runnerBus,
				redis,
			})
			return runner
		},
		async stopRunner() {
			const r = runner
			runner = null
			await r?.stop()
		},
		async close() {
			await h.stopRunner()
			await consumer.stop()
			await log.stop()
			await bus.close()
			await closeRedis(redis)
			await database.close()
			await standIn.stop()
			await testDb.drop()
			await prefix.cleanup()
		},
	}
	await h.startRunner()
	return h
}
