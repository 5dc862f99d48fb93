import { existsSync, mkdirSync } from 'node:fs'
import { join, resolve } from 'node:path'
import type { RedisClient } from './lib/redis-client'
import { type ApiApp, createApp, createProbeApp, type ProbeApp } from './app'
import { createBus, createRelay, createRequester, earlierEventsLost, type Bus, type Relay } from './bus'
import type { Config } from './config'
import { assertStartable, developmentDefaultUsed, lockDataDir, safeUrl, StartupError } from './config/startup'
import { openPglite, openPostgres, type Database } from './db/client'
import { createBackgroundTasks } from './lib/background'
import { systemClock, type Clock } from './lib/clock'
import { createCursorCodec } from './lib/cursor'
import { createRateLimits, loginThrottle } from './lib/rate-limits'
import { TimeoutError, withTimeout } from './lib/timeout'
import type { Logger } from './logger'
import { createMailer, type Mailer } from './mail/mailer'
import { createAccessTokens } from './modules/auth/access-tokens'
import { createTokenRevocations, type TokenRevocations } from './modules/auth/revocations'
import { type ApiKeyRevoked, ApiKeyAuthenticator, callerAuthenticator } from './modules/api-keys/authenticator'
import { ApiKeysService } from './modules/api-keys/service'
import { createUsageRecorder } from './modules/api-keys/usage'
import { createBroadcast } from './lib/broadcast'
import { AuthService } from './modules/auth/service'
import { ChatsService } from './modules/chats/service'
import { ContactsService } from './modules/contacts/service'
import { GroupsService } from './modules/groups/service'
import { RealtimeHub } from './modules/realtime'
import { MessageActions } from './modules/messages/actions'
import { MessagesService } from './modules/messages/service'
import { MediaService } from './modules/media/service'
import { PeopleService } from './modules/people/service'
import { startIdempotencyRetention } from './modules/sessions/idempotency-retention'
import { startTokenRetention } from './modules/auth/token-retention'
import { startSessionPurge } from './modules/sessions/purge'
import { startMediaCollector } from './media/collector'
import { SessionsService } from './modules/sessions/service'
import { UsersService } from './modules/users/service'
import { WebhooksService } from './modules/webhooks/service'
import { createCipher } from './lib/crypto'
import { createMediaStore } from './media'
import { createMetricsRegistry } from './observability/registry'
import type { MetricsDeps } from './plugins/metrics'
import { answerWithin, idleTimeoutSeconds } from './plugins/request-deadline'
import { closeRedis, openRedis, whyRedisUnreachable } from './redis/connection'
import { startRoles, type RunningRoles } from './roles'

/**
 * The composition root: every dependency of the process is built here from config, and closed
 * here, in one `stop()`. `src/index.ts` wraps it in a process; tests start it on a free port.
 */

export interface RunningServer {
	/** The API, or only the probes (health, metrics) in a process without the api role. */
	app: ApiApp | ProbeApp
	port: number
	database: Database
	redis: RedisClient | null
	/** "Tokens revoked" notices from every instance (logout-all, password reset); null without the api role. */
	revocations: TokenRevocations | null
	/** Redis Streams, or the in-process bus in embedded mode. */
	bus: Bus
	/** The outbox relay (api role only). */
	relay: Relay | null
	/** The WebSocket hub: its one tail of domain-events, counters (`stats`); null without the api role. */
	realtime: RealtimeHub | null
	/** The runner/consumer roles this process runs (ROLES). */
	roles: RunningRoles
	/** Stops accepting, lets in-flight requests finish (up to the shutdown timeout), closes everything. */
	stop(): Promise<void>
}

/** How long a start waits for PostgreSQL's first answer: a host that never answers fails it (Bun does not time such a connect out). */
const FIRST_ANSWER_MS = 15_000

async function openDatabase(config: Config, logger: Logger): Promise<Database> {
	if (config.databaseUrl) {
		const database = openPostgres({ url: config.databaseUrl })
		try {
			await withTimeout(database.ping(), FIRST_ANSWER_MS, 'the first query')
		} catch (err) {
			void database.close().catch(() => {})
			if (!(err instanceof TimeoutError)) throw err
			throw new StartupError(
				`Cannot reach PostgreSQL at DATABASE_URL: no answer within ${FIRST_ANSWER_MS / 1000} s. Is it running, and is the address right?`,
			)
		}
		return database
	}
	const dataDir = pgliteDir(config.dataDir)
	mkdirSync(dataDir, { recursive: true })
	const unlock = lockDataDir(dataDir, config.dataDir)
	logger.info({ dataDir }, 'embedded mode: PGlite database (set DATABASE_URL for PostgreSQL)')
	try {
		const database = await openPglite({ dataDir })
		return {
			...database,
			async close() {
				await database.close()
				unlock()
			},
		}
	} catch (err) {
		unlock()
		throw err
	}
}

/**
 * PGlite's folder: `<DATA_DIR>/pglite`, beside the media (`<DATA_DIR>/media`) and anything else
 * kept in DATA_DIR. A DATA_DIR that is itself a database (it holds PG_VERSION, the layout before
 * media) is used as it is.
 */
export function pgliteDir(dataDir: string): string {
	const root = resolve(dataDir)
	return existsSync(join(root, 'PG_VERSION')) ? root : join(root, 'pglite')
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
export interface ServerOverrides {
	/** Time source of token expiry; tests pass one they can move. */
	clock?: Clock
	/** Account mail; default: SMTP when `SMTP_URL` is set, else the log. */
	mailer?: Mailer
}

export interface ApiInfrastructure {
	database: Database
	redis: RedisClient | null
	/** Null for an app without events (tests of the HTTP layer alone): no WebSocket, no relay. */
	bus: Bus | null
	relay: Relay | null
	isDraining?: () => boolean
	rolesDown?: () => string[]
	metrics?: Pick<MetricsDeps, 'registry' | 'workers'>
}

export interface Api {
	app: ApiApp
	realtime: RealtimeHub | null
	revocations: TokenRevocations
	/** Closes WebSockets (1001) so they do not hold the HTTP drain; clients reconnect elsewhere. */
	closeSockets(): void
	/** Finishes work promised by a 202 (mail), then closes what the API opened. */
	close(): Promise<void>
}

/** The API's services on the given infrastructure, and the app on them. */
export function composeApi(config: Config, logger: Logger, infra: ApiInfrastructure, overrides: ServerOverrides = {}): Api {
	const { database, redis, bus, relay } = infra
	const db = database.db
	const clock = overrides.clock ?? systemClock
	const mailer = overrides.mailer ?? createMailer(config, logger)
	const background = createBackgroundTasks(logger)
	const revocations = createTokenRevocations({ redis, prefix: config.redisPrefix, logger })
	const limits = createRateLimits({ redis, prefix: config.redisPrefix, config })
	const accounts = { db, config, logger, clock, mailer, background, revocations }
	const accessTokens = createAccessTokens({ secret: config.jwtSecret, ttlSeconds: config.auth.accessTokenTtlSeconds, clock })
	const users = new UsersService(accounts)
	const auth = new AuthService({ ...accounts, accessTokens, throttle: loginThrottle(limits, config.auth.rateLimits) })
	// Follows users removed elsewhere, and deletes expired tokens (any number of instances may).
	const accountUpkeep = [auth.followUserRemovals(database.listen, logger), startTokenRetention({ db, clock, logger })]
	const keyRevocations = createBroadcast<ApiKeyRevoked>({
		redis,
		channel: `${config.redisPrefix}api-keys:revoked`,
		name: 'api-key-revocations',
		logger,
	})
	const usage = createUsageRecorder({ db, clock, logger, flushEveryMs: config.apiKeys.lastUsedFlushMs })
	usage.start()
	const apiKeys = new ApiKeysService({ db, clock, revocations: keyRevocations })
	const keys = new ApiKeyAuthenticator({ db, revocations: keyRevocations, limit: limits.apiKeyRequests, usage })
	const callers = callerAuthenticator(auth, keys, limits.userRequests)
	const cursors = createCursorCodec(config.jwtSecret)
	// The api role deletes deleted sessions' rows in the background; any number of instances may.
	const purge = startSessionPurge({ db, listen: database.listen, logger, ...config.sessionPurge })
	const sessions = new SessionsService({ db, config, cursors, relay })
	const chats = new ChatsService({ db, cursors, sessions })
	const mediaStore = createMediaStore(config.media)
	const messages = new MessagesService({ db, relay, sessions, store: mediaStore })
	const actions = new MessageActions({ db, relay, clock, chats })
	const contacts = new ContactsService({ db, cursors, sessions })
	const groups = new GroupsService({ db, cursors, relay })
	const realtime = bus ? new RealtimeHub({ bus, logger }) : null
	// The api role also removes stored objects that deleted sessions' files left behind; any number of instances may.
	const mediaCollector = startMediaCollector({ db, store: mediaStore, logger, ...config.media.collect })
	const requester = bus ? createRequester({ bus, logger, timeoutMs: config.people.queryTimeoutMs }) : null
	const people = new PeopleService({
		db,
		sessions,
		requester,
		relay,
		store: mediaStore,
		numberChecks: limits.numberChecksPerSession,
		numberCheckMaxNumbers: config.people.numberCheckMaxNumbers,
		pictureTtlSeconds: config.people.pictureTtlSeconds,
	})
	const media = new MediaService({
		db,
		relay,
		store: mediaStore,
		maxBytes: config.media.maxBytes,
		quotaBytes: config.media.quotaBytes,
		download: config.media.download,
	})
	const webhooks = new WebhooksService({
		db,
		cursors,
		cipher: createCipher(config.encryptionKey),
		bus,
		allowPrivateTargets: config.webhooks.allowPrivateTargets,
		maxPerTenant: config.webhooks.maxPerTenant,
	})
	const app = createApp({
		config,
		logger,
		database,
		redis,
		bus,
		isDraining: infra.isDraining ?? (() => false),
		rolesDown: infra.rolesDown,
		metrics: infra.metrics ?? {},
		clock,
		auth,
		callers,
		apiKeys,
		users,
		sessions,
		chats,
		messages,
		actions,
		contacts,
		groups,
		limits,
		media,
		webhooks,
		people,
		realtime,
	})
	return {
		app,
		realtime,
		revocations,
		closeSockets: () => realtime?.shutdown(),
		async close() {
			realtime?.shutdown()
			// Mail promised by a 202 goes out before the connections it needs close.
			await withTimeout(background.drain(), config.shutdownTimeoutMs, 'background tasks').catch((err) =>
				logger.warn({ err }, 'background tasks still running at shutdown'),
			)
			for (const task of accountUpkeep) await task.stop()
			await purge.stop()
			await mediaCollector.stop()
			// Last uses noted since the previous flush are written before the pool closes.
			await usage.stop()
			await keyRevocations.close()
			await requester?.close()
			await revocations.close()
			await mailer.close()
		},
	}
}

/** Builds every dependency from config, migrates, and listens. */
export async function startServer(config: Config, logger: Logger, overrides: ServerOverrides = {}): Promise<RunningServer> {
	for (const key of config.defaultsUsed) logger.warn({ setting: key }, developmentDefaultUsed(key))
	for (const warning of config.warnings) logger.warn(warning)
	assertStartable(config)
	const database = await openDatabase(config, logger)
	await database.migrate()
	const redis = config.redisUrl ? openRedis(config.redisUrl, logger, 'main', { natMap: config.redisNatMap }) : null
	if (!redis) logger.info('embedded mode: in-process event bus (set REDIS_URL for Redis Streams)')
	const unreachable = redis && (await whyRedisUnreachable(redis))
	if (unreachable) {
		await closeRedis(redis)
		await database.close()
		throw new StartupError(`Cannot reach Redis at REDIS_URL (${safeUrl(config.redisUrl!)}): ${unreachable}. Is it running, and is the address right?`)
	}
	const bus = createBus(config, logger, redis, !redis && (await earlierEventsLost(database.db)))
	const serveApi = config.roles.has('api')
	const relay = serveApi
		? createRelay({ database, bus, logger, intervalMs: config.events.relayIntervalMs, retentionMs: config.events.outboxRetentionMs })
		: null
	relay?.start()
	const idempotency = serveApi ? startIdempotencyRetention({ db: database.db, logger, retentionMs: config.idempotencyKeyRetentionMs }) : null
	// Inline roles record into this registry; role Workers keep their own and answer at each scrape.
	const registry = config.metricsEnabled ? createMetricsRegistry({ thread: 'main', processMetrics: true }) : undefined
	const roles = await startRoles({ config, logger, database, bus, redis, metrics: registry })

	let draining = false
	const infra = {
		database,
		redis,
		bus,
		relay,
		isDraining: () => draining,
		rolesDown: () => roles.down(),
		metrics: { registry, workers: () => roles.metrics(), fleet: roles.fleet },
	}
	const api = serveApi ? composeApi(config, logger, infra, overrides) : null
	const app = api?.app ?? createProbeApp({ config, logger, ...infra })
	// No shared port (Elysia asks for one): a second server on it would take half the requests.
	answerWithin(app, { timeoutMs: config.requestTimeoutMs, bodyLimitBytes: config.bodyLimitBytes }, logger)
	app.listen({ port: config.port, hostname: config.host, reusePort: false, idleTimeout: idleTimeoutSeconds(config.requestTimeoutMs) })
	const port = app.server?.port ?? config.port
	logger.info({ port, database: database.kind, redis: Boolean(redis), roles: [...config.roles].join(',') }, 'listening')

	return {
		app,
		port,
		database,
		redis,
		revocations: api?.revocations ?? null,
		bus,
		relay,
		realtime: api?.realtime ?? null,
		roles,
		async stop() {
			draining = true
			// With Redis the roles stop beside the HTTP drain, not after it: other runners take this
			// one's sessions over while requests (and idle keep-alive connections) finish. The
			// in-process bus ends with this process: its roles first execute and store what it holds.
			const inProcess = bus.kind === 'memory'
			const stopRoles = () =>
				roles.stop().then(
					() => null,
					(err: unknown) => ({ err }),
				)
			const rolesStopped = inProcess ? null : stopRoles()
			api?.closeSockets()
			await stopHttp(app, config.shutdownTimeoutMs, logger)
			await api?.close()
			// Roles drain their in-flight entries; the relay's last batch commits before the pool closes.
			await relay?.stop()
			if (inProcess && !(await bus.settle(config.shutdownTimeoutMs)))
				logger.warn({ waitedMs: config.shutdownTimeoutMs }, 'stopping with commands or events not yet handled; they are lost with this process')
			await idempotency?.stop()
			const failed = await (rolesStopped ?? stopRoles())
			if (failed) throw failed.err
			await bus.close()
			if (redis) await closeRedis(redis)
			await database.close()
		},
	}
}
