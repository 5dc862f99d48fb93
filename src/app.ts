import { Elysia } from 'elysia'
import type Redis from 'ioredis'
import type { Config } from './config'
import type { Database } from './db/client'
import type { Bus, Relay } from './bus'
import { createBackgroundTasks, type BackgroundTasks } from './lib/background'
import { systemClock, type Clock } from './lib/clock'
import type { Logger } from './logger'
import { createMailer, type Mailer } from './mail/mailer'
import { createCursorCodec } from './lib/cursor'
import { authModule } from './modules/auth'
import { createAccessTokens } from './modules/auth/access-tokens'
import { createRateLimits } from './modules/auth/rate-limits'
import { createTokenRevocations, type TokenRevocations } from './modules/auth/revocations'
import { AuthService } from './modules/auth/service'
import { chatsModule } from './modules/chats'
import { ChatsService } from './modules/chats/service'
import { contactsModule } from './modules/contacts'
import { ContactsService } from './modules/contacts/service'
import { healthModule } from './modules/health'
import { metricsModule, type MetricsDeps } from './plugins/metrics'
import { RealtimeHub, realtimeModule, realtimeSocketOptions } from './modules/realtime'
import { sessionsModule } from './modules/sessions'
import { SessionsService } from './modules/sessions/service'
import { usersModule } from './modules/users'
import { UsersService } from './modules/users/service'
import { authPlugin } from './plugins/auth'
import { errorsPlugin } from './plugins/errors'
import { openapiPlugin } from './plugins/openapi'
import { requestContextPlugin } from './plugins/request-context'

/** Everything the HTTP app needs, built by `src/index.ts` (or a test) and passed in. */
export interface AppDeps {
	config: Config
	logger: Logger
	database: Database
	redis: Redis | null
	/** True once shutdown began. */
	isDraining?: () => boolean
	/** Account mail; default: SMTP when `SMTP_URL` is set, else the log. */
	mailer?: Mailer
	/** Time source of token expiry; tests pass one they can move. Default: the system clock. */
	clock?: Clock
	/**
	 * "Tokens revoked" fan-out across instances; default: built from `redis` (pub/sub) or
	 * in-process, and closed when the app stops. Whoever passes one closes it.
	 */
	revocations?: TokenRevocations
	/** Work that outlives a request (mail after a 202); the owner drains it at shutdown. */
	background?: BackgroundTasks
	/** Event bus: `publish`, group `consume`, `tail`/`read` of `domain-events` (WebSocket replay). */
	bus?: Bus
	/** This process's outbox relay: `nudge()` after committing an `enqueue`. Null without the api role. */
	relay?: Relay | null
	/** The WebSocket hub (one tail of `domain-events` per instance); default: built from `bus`. Whoever passes one shuts it down. */
	realtime?: RealtimeHub
	/** This thread's metrics registry and the role Workers' (when METRICS_ENABLED); default: a registry of the app's own. */
	metrics?: Pick<MetricsDeps, 'registry' | 'workers'>
}

export function createApp(deps: AppDeps) {
	const { config, logger, database, redis } = deps
	const accounts = {
		db: database.db,
		config,
		logger,
		clock: deps.clock ?? systemClock,
		mailer: deps.mailer ?? createMailer(config, logger),
		background: deps.background ?? createBackgroundTasks(logger),
		revocations: deps.revocations ?? createTokenRevocations({ redis, prefix: config.redisPrefix, logger }),
	}
	const accessTokens = createAccessTokens({ secret: config.jwtSecret, ttlSeconds: config.auth.accessTokenTtlSeconds, clock: accounts.clock })
	const users = new UsersService(accounts)
	const auth = new AuthService({ ...accounts, accessTokens })
	const authGuard = authPlugin(auth)
	const limits = createRateLimits({ redis, prefix: config.redisPrefix, config: config.auth })
	const cursors = createCursorCodec(config.jwtSecret)
	const sessions = new SessionsService({ db: database.db, config, cursors, relay: deps.relay })
	const chats = new ChatsService({ db: database.db, cursors, sessions })
	const contacts = new ContactsService({ db: database.db, cursors, sessions })
	const realtime = deps.bus ? (deps.realtime ?? new RealtimeHub({ bus: deps.bus, logger })) : null
	return new Elysia({
		websocket: realtimeSocketOptions(config.realtime),
		// Bun's own cap answers an empty 413 before any hook runs, so it sits well above the real
		// limit, which the errors plugin enforces on Content-Length with a JSON 413. The cap still
		// bounds chunked bodies that declare no length.
		serve: { maxRequestBodySize: config.bodyLimitBytes * 16 },
	})
		.use(requestContextPlugin(logger))
		.use(errorsPlugin(logger, config.bodyLimitBytes))
		.use(metricsModule({ config, database, bus: deps.bus ?? null, realtime: realtime?.stats ?? null, ...deps.metrics }))
		.use(openapiPlugin)
		.use(healthModule({ database, redis, isDraining: deps.isDraining ?? (() => false) }))
		.use(usersModule({ users, authPlugin: authGuard, limits, config }))
		.use(authModule({ auth, users, authPlugin: authGuard, limits, config }))
		.use(sessionsModule({ sessions, authPlugin: authGuard }))
		.use(chatsModule({ chats, authPlugin: authGuard }))
		.use(contactsModule({ contacts, authPlugin: authGuard }))
		.use(realtimeModule({ hub: realtime, bus: deps.bus ?? null, db: database.db, auth, clock: accounts.clock, logger, config: config.realtime }))
		.onStop(() => {
			if (!deps.revocations) void accounts.revocations.close()
		})
}

export type App = ReturnType<typeof createApp>

/**
 * What a process without the api role serves (ROLES=runner, consumer): `/health`, `/ready` and,
 * when enabled, `/metrics` — so it can be probed and scraped — and none of the API's routes.
 */
export function createProbeApp(deps: Pick<AppDeps, 'config' | 'logger' | 'database' | 'redis' | 'isDraining' | 'bus' | 'metrics'>) {
	const { config, logger, database, redis } = deps
	return new Elysia()
		.use(requestContextPlugin(logger))
		.use(errorsPlugin(logger, config.bodyLimitBytes))
		.use(metricsModule({ config, database, bus: deps.bus ?? null, realtime: null, ...deps.metrics }))
		.use(healthModule({ database, redis, isDraining: deps.isDraining ?? (() => false) }))
}

export type ProbeApp = ReturnType<typeof createProbeApp>
