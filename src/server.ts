import { mkdirSync } from 'node:fs'
import { resolve } from 'node:path'
import type Redis from 'ioredis'
import { createApp, createProbeApp, type App, type AppDeps, type ProbeApp } from './app'
import type { Config } from './config'
import { openPglite, openPostgres, type Database } from './db/client'
import type { Logger } from './logger'
import { closeRedis, openRedis } from './redis/connection'
import { createBus, createRelay, type Bus, type Relay } from './bus'
import { startRoles, type RunningRoles } from './roles'
import { withTimeout } from './lib/timeout'
import { startIdempotencyRetention } from './modules/sessions/idempotency-retention'
import { createBackgroundTasks } from './lib/background'
import { createMailer } from './mail/mailer'
import { createTokenRevocations, type TokenRevocations } from './modules/auth/revocations'
import { RealtimeHub } from './modules/realtime'
import { createMetricsRegistry } from './observability/registry'

export interface RunningServer {
	/** The API, or only the probes (health, metrics) in a process without the api role. */
	app: App | ProbeApp
	port: number
	database: Database
	redis: Redis | null
	/** "Tokens revoked" notices from every instance (logout-all, password reset); see AuthService.onTokensRevoked. */
	revocations: TokenRevocations
	/** Redis Streams, or the in-process bus in embedded mode. */
	bus: Bus
	/** The outbox relay (api role only). */
	relay: Relay | null
	/** The WebSocket hub: its one tail of domain-events, counters (`stats`). */
	realtime: RealtimeHub
	/** The runner/consumer roles this process runs (ROLES). */
	roles: RunningRoles
	/** Stops accepting, lets in-flight requests finish (up to the shutdown timeout), closes pools. */
	stop(): Promise<void>
}

export async function openDatabase(config: Config, logger: Logger): Promise<Database> {
	if (config.databaseUrl) return openPostgres({ url: config.databaseUrl })
	const dataDir = resolve(config.dataDir)
	mkdirSync(dataDir, { recursive: true })
	logger.info({ dataDir }, 'embedded mode: PGlite database (set DATABASE_URL for PostgreSQL)')
	return openPglite({ dataDir })
}

/**
 * Stops accepting connections and waits for in-flight requests; after `timeoutMs` the remaining
 * connections (long polls, WebSockets) are cut.
 */
export async function stopHttp(app: { stop(closeActive?: boolean): Promise<unknown> }, timeoutMs: number, logger: Logger) {
	try {
		await withTimeout(app.stop(false), timeoutMs, 'draining in-flight requests')
	} catch (err) {
		logger.warn({ err }, 'closing remaining connections')
		await app.stop(true)
	}
}

/** What a caller (a test) may supply instead of the defaults built from config. */
export type ServerOverrides = Pick<AppDeps, 'clock' | 'mailer'>

/** Builds every dependency from config, migrates, and listens. The process entry wraps this. */
export async function startServer(config: Config, logger: Logger, overrides: ServerOverrides = {}): Promise<RunningServer> {
	for (const key of config.defaultsUsed) logger.warn({ setting: key }, `${key} not set: using a development default`)
	const database = await openDatabase(config, logger)
	await database.migrate()
	const redis = config.redisUrl ? openRedis(config.redisUrl, logger) : null
	if (!redis) logger.info('embedded mode: in-process event bus (set REDIS_URL for Redis Streams)')
	const bus = createBus(config, logger, redis)
	const relay = config.roles.has('api')
		? createRelay({ database, bus, logger, intervalMs: config.events.relayIntervalMs, retentionMs: config.events.outboxRetentionMs })
		: null
	relay?.start()
	const idempotency = config.roles.has('api')
		? startIdempotencyRetention({ db: database.db, logger, retentionMs: config.idempotencyKeyRetentionMs })
		: null
	// Inline roles record into this registry; role Workers keep their own and answer at each scrape.
	const metrics = config.metricsEnabled ? createMetricsRegistry({ thread: 'main', processMetrics: true }) : undefined
	const roles = await startRoles({ config, logger, database, bus, redis, metrics })

	const mailer = overrides.mailer ?? createMailer(config, logger)
	const background = createBackgroundTasks(logger)
	const revocations = createTokenRevocations({ redis, prefix: config.redisPrefix, logger })

	const realtime = new RealtimeHub({ bus, logger })

	let draining = false
	const metricsDeps = { registry: metrics, workers: () => roles.metrics() }
	const app = config.roles.has('api')
		? createApp({ config, logger, database, redis, isDraining: () => draining, clock: overrides.clock, mailer, background, revocations, bus, relay, realtime, metrics: metricsDeps })
		: createProbeApp({ config, logger, database, redis, isDraining: () => draining, bus, metrics: metricsDeps })
	app.listen({ port: config.port, hostname: config.host })
	const port = app.server?.port ?? config.port
	logger.info({ port, database: database.kind, redis: Boolean(redis) }, 'listening')

	return {
		app,
		port,
		database,
		redis,
		revocations,
		bus,
		relay,
		realtime,
		roles,
		async stop() {
			draining = true
			// The roles stop beside the HTTP drain, not after it: other runners take this one's sessions
			// over while requests (and idle keep-alive connections) finish.
			const rolesStopped = roles.stop().then(
				() => null,
				(err: unknown) => ({ err }),
			)
			// Open WebSockets would hold the HTTP drain below until its timeout: close them first (1001),
			// their clients reconnect to another instance with `since`.
			realtime.shutdown()
			await stopHttp(app, config.shutdownTimeoutMs, logger)
			// Mail promised by a 202 goes out before the connections it needs close.
			await withTimeout(background.drain(), config.shutdownTimeoutMs, 'background tasks').catch((err) =>
				logger.warn({ err }, 'background tasks still running at shutdown'),
			)
			// Roles drain their in-flight entries; the relay's last batch commits before the pool closes.
			await relay?.stop()
			idempotency?.stop()
			const failed = await rolesStopped
			if (failed) throw failed.err
			await bus.close()
			await revocations.close()
			await mailer.close()
			if (redis) await closeRedis(redis)
			await database.close()
		},
	}
}
