import { Elysia } from 'elysia'
import type { RedisClient } from './lib/redis-client'
import type { Bus } from './bus'
import type { Config } from './config'
import type { Database } from './db/client'
import type { Clock } from './lib/clock'
import type { RateLimits } from './lib/rate-limits'
import type { Logger } from './logger'
import { apiKeysModule } from './modules/api-keys'
import type { Callers } from './modules/api-keys/authenticator'
import type { ApiKeysService } from './modules/api-keys/service'
import { authModule } from './modules/auth'
import type { AuthService } from './modules/auth/service'
import { chatsModule } from './modules/chats'
import type { ChatsService } from './modules/chats/service'
import { contactsModule } from './modules/contacts'
import type { ContactsService } from './modules/contacts/service'
import { groupsModule } from './modules/groups'
import type { GroupsService } from './modules/groups/service'
import { healthModule } from './modules/health'
import { mediaModule } from './modules/media'
import type { MediaService } from './modules/media/service'
import type { MessageActions } from './modules/messages/actions'
import type { MessagesService } from './modules/messages/service'
import { peopleModule } from './modules/people'
import type { PeopleService } from './modules/people/service'
import { type RealtimeHub, realtimeModule, realtimeSocketOptions } from './modules/realtime'
import { sessionsModule } from './modules/sessions'
import type { SessionsService } from './modules/sessions/service'
import { usersModule } from './modules/users'
import { webhooksModule } from './modules/webhooks'
import type { WebhooksService } from './modules/webhooks/service'
import type { UsersService } from './modules/users/service'
import { authPlugin } from './plugins/auth'
import { createAllowedMethods } from './plugins/allowed-methods'
import { errorsPlugin, type ValidationAnswersAs400 } from './plugins/errors'
import { bodilessRoutes, inputPlugin, queryParameters } from './plugins/input'
import { guardedRoutes } from './plugins/unread-body'
import { metricsPlugin, type MetricsDeps } from './plugins/metrics'
import { apiReferencePlugin } from './plugins/api-reference'
import { dashboardPlugin } from './plugins/dashboard'
import { openapiPlugin } from './plugins/openapi'
import { rateLimitPlugin } from './plugins/rate-limit'
import { requestContextPlugin } from './plugins/request-context'
import { securityHeadersPlugin } from './plugins/security-headers'

/** What the probes need: every process serves them, the API's or not. */
export interface ProbeDeps {
	config: Config
	logger: Logger
	database: Database
	redis: RedisClient | null
	/** Null in an app built without an event bus (tests of the HTTP layer alone). */
	bus: Bus | null
	/** True once shutdown began: readiness fails so load balancers stop sending traffic. */
	isDraining: () => boolean
	/** Roles whose Worker is not running: readiness fails while one starts or restarts. */
	rolesDown?: () => string[]
	/** This thread's metrics registry and the role Workers' (when METRICS_ENABLED). */
	metrics: Pick<MetricsDeps, 'registry' | 'workers'>
}

/** The API's parts, built by the composition root (`src/server.ts`). */
export interface AppDeps extends ProbeDeps {
	clock: Clock
	auth: AuthService
	/** Checks access tokens and API keys alike (the auth macro, the WebSocket). */
	callers: Callers
	apiKeys: ApiKeysService
	users: UsersService
	sessions: SessionsService
	chats: ChatsService
	messages: MessagesService
	actions: MessageActions
	contacts: ContactsService
	groups: GroupsService
	limits: RateLimits
	media: MediaService
	webhooks: WebhooksService
	people: PeopleService
	/** The WebSocket hub; null without a bus. */
	realtime: RealtimeHub | null
}

/** The HTTP API: plugins, then one module per feature. Builds nothing but routes. */
export function createApp(deps: AppDeps) {
	const { config, logger, database } = deps
	const auth = authPlugin(deps.callers)
	const rateLimit = rateLimitPlugin(deps.limits, config.trustProxyHops)
	const methods = createAllowedMethods()
	/** What the routes declare (filled in below, once every route is known): see inputPlugin. */
	const routes = { bodiless: new Set<string>(), queries: new Map<string, Set<string>>(), guarded: new Set<string>() }
	const app = new Elysia({
		websocket: realtimeSocketOptions(config.realtime),
		// Bun's own cap answers an empty 413 before any hook runs, so it is lifted: the input plugin
		// enforces the real limits, declared or counted as read, with a JSON 413. A body nobody reads
		// is not buffered (Bun holds it back from the socket), so the lifted cap costs no memory.
		serve: { maxRequestBodySize: Number.MAX_SAFE_INTEGER },
	})
		.use(requestContextPlugin(logger))
		.use(securityHeadersPlugin)
		.use(errorsPlugin(logger, config.trustProxyHops, methods))
		.use(inputPlugin(config.bodyLimitBytes, { '/media': config.media.maxBytes }, routes))
		.use(metricsPlugin({ config, database, bus: deps.bus, realtime: deps.realtime?.stats ?? null, ...deps.metrics }))
		.use(openapiPlugin())
		.use(apiReferencePlugin)
		.use(dashboardPlugin({ mail: config.mailDelivery }))
		.use(healthModule(deps))
		.use(usersModule({ users: deps.users, authPlugin: auth, rateLimit }))
		.use(authModule({ auth: deps.auth, users: deps.users, authPlugin: auth, rateLimit, config }))
		.use(apiKeysModule({ apiKeys: deps.apiKeys, authPlugin: auth }))
		.use(sessionsModule({ sessions: deps.sessions, messages: deps.messages, authPlugin: auth }))
		.use(chatsModule({ chats: deps.chats, messages: deps.messages, actions: deps.actions, authPlugin: auth }))
		.use(contactsModule({ contacts: deps.contacts, authPlugin: auth }))
		.use(groupsModule({ groups: deps.groups, authPlugin: auth }))
		.use(peopleModule({ people: deps.people, authPlugin: auth, limits: config.people }))
		.use(mediaModule({ media: deps.media, authPlugin: auth, maxBytes: config.media.maxBytes }))
		.use(webhooksModule({ webhooks: deps.webhooks, authPlugin: auth }))
		.use(
			realtimeModule({ hub: deps.realtime, bus: deps.bus, db: database.db, auth: deps.callers, clock: deps.clock, logger, config: config.realtime }),
		)
	methods.load(app.routes)
	for (const route of bodilessRoutes(app.routes)) routes.bodiless.add(route)
	for (const [route, names] of queryParameters(app.routes)) routes.queries.set(route, names)
	for (const route of guardedRoutes(app.routes)) routes.guarded.add(route)
	return app
}

/** The app the server runs. */
export type ApiApp = ReturnType<typeof createApp>

/** The API's type for the Eden client (`treaty<App>`, and `@switchboard/client`): validation failures answer 400 with the Error body. */
export type App = ValidationAnswersAs400<ApiApp>

/**
 * What a process without the api role serves (ROLES=runner, consumer): `/health`, `/ready` and,
 * when enabled, `/metrics` — so it can be probed and scraped — and none of the API's routes.
 */
export function createProbeApp(deps: ProbeDeps) {
	const { config, logger, database } = deps
	return new Elysia()
		.use(requestContextPlugin(logger))
		.use(securityHeadersPlugin)
		.use(errorsPlugin(logger, config.trustProxyHops))
		.use(metricsPlugin({ config, database, bus: deps.bus, realtime: null, ...deps.metrics }))
		.use(healthModule(deps))
}

export type ProbeApp = ReturnType<typeof createProbeApp>
