import { Elysia } from 'elysia'
import type { RealtimeConfig } from '../../config'
import type { Db } from '../../db/client'
import type { Bus } from '../../bus'
import type { RouteScope } from '../../core/scopes'
import type { Clock } from '../../lib/clock'
import type { Logger } from '../../logger'
import { Connection, type ConnectionDeps, type Socket } from './connection'
import type { RealtimeHub } from './hub'
import { CLOSE, RealtimeMessage, RealtimeQuery } from './model'
import { ACCESS_TOKEN_PROTOCOL, offeredProtocols, presentedToken } from '../../plugins/auth'
import { buildSnapshot } from './snapshot'

export { RealtimeHub } from './hub'

/** The socket carries every event of the tenant: sessions' state and QR codes, and message contents. */
const SCOPES = ['sessions:read', 'messages:read'] as const satisfies readonly RouteScope[]

export interface RealtimeModuleDeps {
	/** Null without a bus (an app built for in-process tests): sockets are then closed with 1011. */
	hub: RealtimeHub | null
	bus: Bus | null
	db: Db
	auth: ConnectionDeps['auth']
	clock: Clock
	logger: Logger
	config: RealtimeConfig
}

/**
 * Bun's WebSocket settings, which are per server rather than per route. Bun drops messages past
 * `backpressureLimit` unless it closes the socket, and a dropped message would be a gap: so it
 * closes (abruptly, 1006). The connection's own check (after every batch published to its
 * tenant) closes with 1013 first, unless one batch alone is larger than the margin.
 */
export const realtimeSocketOptions = (config: RealtimeConfig) => ({
	idleTimeout: config.idleTimeoutSeconds,
	sendPings: true,
	backpressureLimit: Math.max(config.sendBufferBytes * 4, config.sendBufferBytes + 8 * 1024 * 1024),
	closeOnBackpressureLimit: true,
	// Clients send nothing on /ws/sessions.
	maxPayloadLength: 64 * 1024,
	perMessageDeflate: false,
})

const DESCRIPTION = `Live domain events of the caller's tenant.

- Auth: the subprotocols \`switchboard.access-token, <token>\` (browsers: \`new WebSocket(url, ['switchboard.access-token', token])\`; the answer names \`switchboard.access-token\`), \`?accessToken=\` (browsers, with a user's token; never an API key), or \`Authorization: Bearer\` / \`X-Api-Key\` with an access token or an API key (servers). A missing, invalid, expired or revoked credential closes the socket with **4401** and a reason; so do the token's expiry, \`POST /auth/logout-all\`, removing the user and revoking the key while it is open. An API key needs the scopes \`sessions:read\` and \`messages:read\` (else **4403**, naming the one missing). Opening a socket counts as a request against the key's or the user's rate limit (past it, **4429**, saying when to retry); a tenant holding \`WS_MAX_SOCKETS_PER_TENANT\` sockets on the instance gets **4429** for one more.
- First message: \`session.snapshot\` (every session of the tenant, exact at stream position \`id\`), then every domain event of the tenant in stream order, \`id\` = its stream position, \`eventId\` = the envelope's uuid.
- \`?since=<id>\`: resume after the last \`id\` received — the missed events are replayed from the stream, then live, without gap or duplicate. When \`since\` is malformed, unknown or older than the stream retention: \`session.resync_required\`, then a fresh \`session.snapshot\` (reload chats and messages over REST).
- Close codes: 1001 server shutting down, 1011 server error, 1013 slow consumer (send buffer full) — reconnect with \`since\` in all three; 4401 unauthorized; 4403 missing scope; 4429 rate limited or too many sockets open.`

export const realtimeModule = (deps: RealtimeModuleDeps) => {
	const connections = new WeakMap<object, Connection>()
	const { hub, bus } = deps
	const connectionDeps: ConnectionDeps | null = hub &&
		bus && {
			hub,
			bus,
			auth: deps.auth,
			clock: deps.clock,
			logger: deps.logger,
			sendBufferBytes: deps.config.sendBufferBytes,
			maxSocketsPerTenant: deps.config.maxSocketsPerTenant,
			scopes: SCOPES,
			snapshot: (tenantId) => buildSnapshot({ db: deps.db, bus, logger: deps.logger }, tenantId),
		}
	return new Elysia({ name: 'realtime', tags: ['realtime'] })
		.onStart(({ server }) => {
			if (server) hub?.start(server)
		})
		.onStop(() => hub?.stop())
		.ws('/ws/sessions', {
			query: RealtimeQuery,
			response: RealtimeMessage,
			detail: {
				summary: 'Realtime session events (WebSocket)',
				description: DESCRIPTION,
				tags: ['realtime'],
				// The subprotocol form (`switchboard.access-token`, <jwt>) has no OpenAPI scheme: the description tells it.
				security: [{ bearer: [] }, { accessTokenQuery: [] }, { apiKey: [...SCOPES] }, { apiKeyHeader: [...SCOPES] }],
				'x-required-scope': SCOPES.join(' '),
			},
			upgrade({ request, set }) {
				// A browser that offered the access-token protocol drops the socket unless the answer names it.
				if (offeredProtocols(request).includes(ACCESS_TOKEN_PROTOCOL)) set.headers['sec-websocket-protocol'] = ACCESS_TOKEN_PROTOCOL
			},
			open(ws) {
				if (!connectionDeps) return ws.raw.close(CLOSE.internal, 'realtime events are not available on this server')
				// Elysia's copy of Bun's socket type lacks getBufferedAmount, which Bun's socket has.
				const connection = new Connection(ws.raw as unknown as Socket, connectionDeps)
				connections.set(ws.raw, connection)
				return connection.open(presentedToken(ws.data.request, ws.data.query), ws.data.query.since)
			},
			drain(ws) {
				connections.get(ws.raw)?.drained()
			},
			close(ws) {
				connections.get(ws.raw)?.ended()
			},
			message() {},
		})
}
