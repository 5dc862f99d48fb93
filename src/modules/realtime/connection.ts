import { compareIds, type Bus } from '../../bus'
import { DOMAIN_EVENTS } from '../../core/streams'
import { ForbiddenError, RateLimitedError, UnauthenticatedError } from '../../core/errors'
import { API_KEY_PREFIX, type RouteScope } from '../../core/scopes'
import type { Clock } from '../../lib/clock'
import type { Logger } from '../../logger'
import type { TokensRevokedListener } from '../auth/revocations'
import { type AuthUser, authorize, KEY_IN_URL } from '../../plugins/auth'
import type { ApiKeyRevoked } from '../api-keys/authenticator'
import { tenantTopic, wireMessage, type RealtimeHub } from './hub'
import { CLOSE, type ResyncReason } from './model'
import { isStreamId, previousId } from './positions'
import type { Snapshot } from './snapshot'

/** The part of Bun's ServerWebSocket a connection uses. */
export interface Socket {
	send(data: string): number
	close(code?: number, reason?: string): void
	subscribe(topic: string): void
	getBufferedAmount(): number
}

export interface ConnectionDeps {
	hub: RealtimeHub
	bus: Bus
	auth: {
		authenticate(token: string | undefined): Promise<AuthUser>
		onTokensRevoked(listener: TokensRevokedListener): () => void
		onUserRemoved(listener: (userId: string) => void): () => void
		onApiKeyRevoked(listener: (event: ApiKeyRevoked) => void): () => void
	}
	/** The scopes an API key needs to open the socket. */
	scopes: readonly RouteScope[]
	snapshot(tenantId: string): Promise<Snapshot>
	clock: Clock
	logger: Logger
	/** Bytes a socket may have queued; above this it is closed with 1013. */
	sendBufferBytes: number
	/** Sockets one tenant may hold open on this instance (RealtimeHub.admit). */
	maxSocketsPerTenant: number
	/** How long a replay waits for a client to take what was already sent before giving up on it (default 30 s). */
	replayStallMs?: number
}

const REPLAY_PAGE = 500
/** setTimeout's ceiling (~24.8 days). */
const MAX_TIMER_MS = 2 ** 31 - 1

class Closed extends Error {}

/**
 * One socket of `/ws/sessions` from `open` to `close`: authentication, then the snapshot or the
 * replay of `since`, then the live topic of its tenant; meanwhile the guards that end it (token
 * expiry, revocation, shutdown, a client that does not keep up).
 */
export class Connection {
	private closed = false
	/** The tenant whose open sockets count this one (see RealtimeHub.admit), once admitted. */
	private admitted: string | null = null
	private readonly done = new AbortController()
	private expiry: ReturnType<typeof setTimeout> | undefined
	private stopWatching: (() => void) | null = null
	private stopListening: (() => void) | null = null
	private onDrain: (() => void) | null = null
	private readonly log: Logger

	constructor(
		private readonly socket: Socket,
		private readonly deps: ConnectionDeps,
	) {
		this.log = deps.logger.child({ component: 'realtime' })
	}

	/** `credential`: the access token or API key the upgrade presented (header, or `?accessToken=`). */
	async open(credential: string | undefined, since: string | undefined) {
		if (this.deps.hub.closing.aborted) return this.close(CLOSE.goingAway, 'server shutting down; reconnect')
		const user = await this.authenticate(credential)
		if (!user || this.closed) return
		try {
			await this.start(user, since)
		} catch (err) {
			if (this.closed || err instanceof Closed) return
			this.log.error({ err, tenantId: user.tenantId }, 'realtime connection failed')
			this.close(CLOSE.internal, 'internal error; reconnect with since')
		}
	}

	/** The socket can take more (Bun's `drain`). */
	drained() {
		this.onDrain?.()
	}

	/** The socket is gone (Bun's `close`), whoever closed it. */
	ended() {
		if (this.closed) return
		this.closed = true
		this.cleanup()
	}

	close(code: number, reason: string) {
		if (this.closed) return
		this.closed = true
		this.cleanup()
		this.socket.close(code, reason)
	}

	private cleanup() {
		clearTimeout(this.expiry)
		this.stopWatching?.()
		this.stopWatching = null
		this.stopListening?.()
		this.stopListening = null
		this.done.abort()
		this.onDrain?.()
		if (this.admitted !== null) {
			this.deps.hub.release(this.admitted)
			this.admitted = null
		}
	}

	private async authenticate(token: string | undefined): Promise<AuthUser | null> {
		// 4401 rather than an HTTP 401 on the upgrade: a browser's WebSocket cannot read the
		// status of a refused upgrade, but it does get the close code and reason.
		if (!token) {
			this.close(CLOSE.unauthorized, 'access token or API key missing')
			return null
		}
		if (token === KEY_IN_URL) {
			this.close(CLOSE.unauthorized, 'API keys go in a header (Authorization: Bearer or X-Api-Key), never in the URL')
			return null
		}
		let user: AuthUser
		try {
			user = await this.deps.auth.authenticate(token)
			for (const scope of this.deps.scopes) authorize(user, scope, 'the socket carries sessions’ state and QR codes as well as messages')
		} catch (err) {
			if (err instanceof UnauthenticatedError)
				this.close(CLOSE.unauthorized, token.startsWith(API_KEY_PREFIX) ? 'API key invalid or revoked' : 'access token invalid, expired or revoked')
			else if (err instanceof ForbiddenError) this.close(CLOSE.forbidden, err.message)
			else if (err instanceof RateLimitedError) this.close(CLOSE.rateLimited, err.message)
			else {
				this.log.error({ err }, 'could not check an access token')
				this.close(CLOSE.internal, 'could not check the access token; retry')
			}
			return null
		}
		if (this.closed) return null
		const max = this.deps.maxSocketsPerTenant
		if (!this.deps.hub.admit(user.tenantId, max)) {
			const sockets = max === 1 ? 'a WebSocket' : `${max} WebSockets`
			this.close(CLOSE.rateLimited, `this account has ${sockets} open on this server, the most it may; close one, then reconnect`)
			return null
		}
		this.admitted = user.tenantId
		this.guard(user, token)
		return user
	}

	/** Everything that may end the connection later, armed once the token checked out. */
	private guard(user: AuthUser, token: string) {
		if (user.kind === 'apiKey')
			// Revocations reach every instance (Redis pub/sub). A key does not expire by itself.
			this.stopListening = this.deps.auth.onApiKeyRevoked((e) => {
				if (e.keyId === user.id) this.close(CLOSE.unauthorized, 'API key revoked')
			})
		else {
			const { exp, ver } = claimsOf(token)
			const left = exp * 1000 - this.deps.clock.now().getTime()
			this.expiry = setTimeout(() => this.close(CLOSE.unauthorized, 'access token expired'), Math.max(0, Math.min(left, MAX_TIMER_MS)))
			// A notice about an older version than the one this token carries is about tokens issued
			// before it (a late notice), not this one.
			const stopRevoked = this.deps.auth.onTokensRevoked((e) => {
				if (e.userId === user.id && e.tokenVersion > ver) this.close(CLOSE.unauthorized, `signed out everywhere (${e.reason})`)
			})
			const stopRemoved = this.deps.auth.onUserRemoved((userId) => {
				if (userId === user.id) this.close(CLOSE.unauthorized, 'the user no longer exists')
			})
			this.stopListening = () => {
				stopRevoked()
				stopRemoved()
			}
		}
		this.deps.hub.closing.addEventListener('abort', () => this.close(CLOSE.goingAway, 'server shutting down; reconnect with since'), {
			signal: this.done.signal,
		})
		// Bun's own limit (backpressureLimit, several times this one) closes abruptly and only as a
		// last resort; measuring the queue after every batch published to the tenant ends a client
		// that stopped reading with a proper 1013 before that. Either way no message is ever skipped
		// for a socket that stays open.
		this.stopWatching = this.deps.hub.watchTenant(user.tenantId, () => {
			if (this.socket.getBufferedAmount() > this.deps.sendBufferBytes) this.slowConsumer()
		})
	}

	private slowConsumer() {
		if (this.closed) return
		this.deps.hub.stats.slowConsumerCloses++
		this.close(CLOSE.slowConsumer, 'slow consumer: send buffer full; reconnect with since')
	}

	private async start(user: AuthUser, since: string | undefined) {
		let pos: string
		if (since === undefined) pos = await this.sendSnapshot(user)
		else {
			const problem = await this.checkSince(since)
			if (problem) {
				this.sendResync(user, since, problem)
				pos = await this.sendSnapshot(user)
			} else pos = since
		}
		await this.join(user, since, pos)
	}

	/** Whether the stream still holds everything after `since`. */
	private async checkSince(since: string): Promise<{ reason: ResyncReason; oldestId: string | null } | null> {
		if (!isStreamId(since)) return { reason: 'malformed', oldestId: null }
		const { firstId, lastId } = await this.deps.bus.info(DOMAIN_EVENTS)
		// Trimming removes the oldest entries, so anything after `since` may be gone once `since`
		// itself is; an empty stream cannot vouch for anything either.
		if (firstId === null || lastId === null || compareIds(since, firstId) < 0) return { reason: 'trimmed', oldestId: firstId }
		if (compareIds(since, lastId) > 0) return { reason: 'unknown', oldestId: firstId }
		const [entry] = await this.deps.bus.read(DOMAIN_EVENTS, { after: previousId(since), count: 1 })
		return entry?.id === since ? null : { reason: 'unknown', oldestId: firstId }
	}

	private sendResync(user: AuthUser, since: string, { reason, oldestId }: { reason: ResyncReason; oldestId: string | null }) {
		const message = { type: 'session.resync_required', tenantId: user.tenantId, occurredAt: this.now(), data: { since, reason, oldestId } }
		this.sendNow(JSON.stringify(message))
	}

	private async sendSnapshot(user: AuthUser): Promise<string> {
		const snapshot = await this.deps.snapshot(user.tenantId)
		if (this.closed) throw new Closed()
		const message = {
			type: 'session.snapshot',
			id: snapshot.position,
			tenantId: user.tenantId,
			occurredAt: this.now(),
			data: { sessions: snapshot.sessions },
		}
		this.sendNow(JSON.stringify(message))
		return snapshot.position
	}

	/**
	 * From "the client has everything up to `pos`" to "subscribed to the tenant's topic", without a
	 * gap or a duplicate. While `pos` is older than what the hub keeps in memory, the missing events
	 * come from the stream, never past what the hub has already published (those would arrive a
	 * second time through the topic). Once the hub's memory covers `pos`, the rest is sent from
	 * there and the socket subscribes in the same synchronous step, so no publish falls in between.
	 */
	private async join(user: AuthUser, since: string | undefined, from: string) {
		const { hub, bus } = this.deps
		let pos = from
		await hub.ready
		for (;;) {
			if (this.closed) throw new Closed()
			if (hub.covers(pos)) {
				for (const text of hub.recentAfter(pos, user.tenantId)) if (!this.sendNow(text)) throw new Closed()
				this.socket.subscribe(tenantTopic(user.tenantId))
				return
			}
			if (compareIds(pos, hub.position) > 0) {
				// The snapshot saw further into the stream than this instance has published so far.
				if (!(await hub.until(pos, this.done.signal))) throw new Closed()
				continue
			}
			const page = await bus.read(DOMAIN_EVENTS, { after: pos, count: REPLAY_PAGE })
			// Read after the page: a trim that raced the read shows up here rather than as a gap.
			const { firstId } = await bus.info(DOMAIN_EVENTS)
			if (this.closed) throw new Closed()
			if (firstId === null || compareIds(firstId, pos) > 0) {
				this.sendResync(user, since ?? pos, { reason: 'trimmed', oldestId: firstId })
				pos = await this.sendSnapshot(user)
				continue
			}
			const limit = hub.position
			let advanced = false
			for (const entry of page) {
				if (compareIds(entry.id, limit) > 0) break
				if (entry.envelope.tenantId === user.tenantId && !(await this.sendPaced(wireMessage(entry)))) throw new Closed()
				pos = entry.id
				advanced = true
			}
			// Nothing readable between `pos` and what the hub published (entries that do not parse).
			if (!advanced) pos = limit
		}
	}

	/** False when the message could not be queued; the socket is then closed. */
	private sendNow(text: string): boolean {
		if (this.closed) return false
		if (this.socket.send(text) === 0) {
			// 0 = dropped: the socket is past Bun's hard limit or gone. Never go on after a drop.
			this.slowConsumer()
			return false
		}
		return true
	}

	/** A replay sends as fast as the client reads, keeping well under the limit that closes it. */
	private async sendPaced(text: string): Promise<boolean> {
		if (!this.sendNow(text)) return false
		const stallMs = this.deps.replayStallMs ?? 30_000
		while (!this.closed && this.socket.getBufferedAmount() > this.deps.sendBufferBytes / 2) {
			let timer: ReturnType<typeof setTimeout> | undefined
			const drained = await new Promise<boolean>((resolve) => {
				this.onDrain = () => resolve(true)
				timer = setTimeout(() => resolve(false), stallMs)
			})
			clearTimeout(timer)
			this.onDrain = null
			if (!drained) this.slowConsumer()
		}
		return !this.closed
	}

	private now() {
		return new Date().toISOString()
	}
}

/** `authenticate` has verified this token; its payload is read here only for the expiry and the version. */
function claimsOf(token: string): { exp: number; ver: number } {
	const payload = JSON.parse(Buffer.from(token.split('.')[1] ?? '', 'base64url').toString('utf8')) as { exp?: unknown; ver?: unknown }
	return { exp: Number(payload.exp), ver: Number(payload.ver) }
}
