import { randomBytes } from 'node:crypto'
import { and, asc, count, desc, eq, gt, inArray, isNull, lt, lte, sql } from 'drizzle-orm'
import { compareIds, type Bus } from '../../bus'
import { ConflictError, NotFoundError, UnprocessableError } from '../../core/errors'
import { DOMAIN_EVENTS } from '../../core/streams'
import { secretAad, typesMatching, WEBHOOK_TEST_EVENT } from '../../core/webhooks'
import { schema, type Db } from '../../db/client'
import { lockTenant } from '../../db/tenant-lock'
import { isForeignKeyViolation } from '../../db/errors'
import { enqueueStandalone, requeueEvents } from '../../db/webhooks'
import type { Resolver } from '../../lib/addresses'
import type { Cipher } from '../../lib/crypto'
import { cursorString, type CursorCodec } from '../../lib/cursor'
import type { Page } from '../../lib/keyset'
import { previousId } from '../realtime/positions'
import { whenDue } from './due'
import { replayStart } from './since'
import { checkedUrl } from './target'
import type { Webhook, WebhookDelivery } from './model'
import { deliveryColumns, publicColumns, toDelivery, toWebhook } from './rows'

const { webhookEndpoints: endpoints, webhookPreviousSecrets: previousSecrets, webhookDeliveries: deliveries, sessions } = schema

/** How long a secret a rotation takes out of use keeps signing beside the newer ones. */
const ROTATION_OVERLAP_MS = 24 * 3600 * 1000
/**
 * Secrets rotated out that sign at once, beside the current one (a client that lost a rotation's
 * answer and retries makes one each time). Past it, a rotation is refused until the oldest expires:
 * dropping that one would cut off a receiver still on it.
 */
const MAX_PREVIOUS_SECRETS = 5
const REPLAY_BATCH = 500

export interface WebhooksServiceDeps {
	db: Db
	cursors: CursorCodec
	cipher: Cipher
	/** Null in an app without events: replays need the stream. */
	bus: Bus | null
	allowPrivateTargets: boolean
	/** Endpoints a tenant may register (MAX_WEBHOOKS_PER_TENANT). */
	maxPerTenant: number
	/** Replaces DNS in the URL check (tests). */
	resolve?: Resolver
}

interface WebhookInput {
	url?: string
	events?: string[]
	sessionIds?: string[] | null
	description?: string | null
	enabled?: boolean
}

/** The endpoint `id` if it is this tenant's: every statement on one endpoint names its tenant too. */
const ofTenant = (tenantId: string, id: string) => and(eq(endpoints.id, id), eq(endpoints.tenantId, tenantId))

const webhookNotFound = () => new NotFoundError('WEBHOOK_NOT_FOUND', 'No such webhook in this account')

/** A write for an endpoint deleted since it was read (a DELETE racing a test or a replay) is a 404, as after it. */
const deletedMeanwhile = (err: unknown): never => {
	throw isForeignKeyViolation(err) ? webhookNotFound() : err
}

const newSecret = () => `whsec_${randomBytes(32).toString('base64')}`

const tooManyRotations = (oldestExpiresAt: Date) =>
	new ConflictError(
		'TOO_MANY_SECRET_ROTATIONS',
		`The webhook has ${MAX_PREVIOUS_SECRETS} secrets rotated out in the last 24 h, each still signing; it can be rotated again once the oldest stops, at ${oldestExpiresAt.toISOString()}`,
		{ retryAt: oldestExpiresAt.toISOString() },
	)

const disabled = () => new ConflictError('WEBHOOK_DISABLED', 'The webhook is disabled; enable it with PATCH first')

/** Webhook endpoints of an account, their delivery log, and the deliveries the API starts (test, retry, replay). */
export class WebhooksService {
	constructor(private readonly deps: WebhooksServiceDeps) {}

	/** 422 naming each pattern that selects no catalogue type. */
	private checkEvents(events: string[]): string[] {
		const unknown = events.filter((pattern) => !typesMatching(pattern).length)
		if (unknown.length)
			throw new UnprocessableError('UNKNOWN_EVENT_TYPE', `\`events\` has ${unknown.map((u) => `"${u}"`).join(', ')}, which matches no event type`, {
				field: 'events',
				unknown,
			})
		return [...new Set(events)]
	}

	/** 404 naming the session ids that are not this account's (absent, deleted or another account's alike). */
	private async checkSessions(tenantId: string, ids: string[]): Promise<string[]> {
		const unique = [...new Set(ids.map((id) => id.toLowerCase()))]
		const found = await this.deps.db
			.select({ id: sessions.id })
			.from(sessions)
			.where(and(eq(sessions.tenantId, tenantId), inArray(sessions.id, unique), isNull(sessions.deletedAt)))
		const known = new Set(found.map((s) => s.id))
		const unknown = unique.filter((id) => !known.has(id))
		if (unknown.length)
			throw new NotFoundError('SESSION_NOT_FOUND', '`sessionIds` names sessions this account does not have', { field: 'sessionIds', unknown })
		return unique
	}

	private async checked(tenantId: string, input: WebhookInput) {
		return {
			...(input.url !== undefined && { url: await checkedUrl(input.url, this.deps.allowPrivateTargets, this.deps.resolve) }),
			...(input.events !== undefined && { events: this.checkEvents(input.events) }),
			...(input.sessionIds !== undefined && { sessionIds: input.sessionIds && (await this.checkSessions(tenantId, input.sessionIds)) }),
			...(input.description !== undefined && { description: input.description }),
		}
	}

	async create(tenantId: string, input: WebhookInput & { url: string }): Promise<Webhook & { secret: string }> {
		const values = await this.checked(tenantId, input)
		const id = Bun.randomUUIDv7()
		const secret = newSecret()
		const { maxPerTenant: limit } = this.deps
		const row = await this.deps.db.transaction(async (tx) => {
			await lockTenant(tx, tenantId)
			const [held] = await tx.select({ n: count() }).from(endpoints).where(eq(endpoints.tenantId, tenantId))
			const n = held?.n ?? 0
			// Every event of the tenant goes out once to each endpoint: without a bound, one tenant could
			// make each of its events thousands of deliveries and hold up everyone's.
			if (n >= limit)
				throw new ConflictError(
					'WEBHOOK_LIMIT_REACHED',
					`This account already has ${n} webhooks, the most it may have (${limit}); delete one to create another`,
					{ limit },
				)
			const [created] = await tx
				.insert(endpoints)
				.values({ id, tenantId, url: values.url!, ...values, secret: this.deps.cipher.encrypt(secret, secretAad(id)) })
				.returning(publicColumns)
			return created!
		})
		return { ...toWebhook(row), secret }
	}

	async list(tenantId: string, { limit = 50, cursor }: { limit?: number; cursor?: string }): Promise<Page<Webhook>> {
		const scope = `webhooks:${tenantId}`
		const after = cursor ? cursorString(this.deps.cursors.decode(scope, cursor)[0]) : undefined
		const rows = await this.deps.db
			.select(publicColumns)
			.from(endpoints)
			.where(and(eq(endpoints.tenantId, tenantId), after ? gt(endpoints.id, after) : undefined))
			.orderBy(asc(endpoints.id))
			.limit(limit + 1)
		const items = rows.slice(0, limit).map((r) => toWebhook(r))
		return { items, nextCursor: rows.length > limit ? this.deps.cursors.encode(scope, [items.at(-1)!.id]) : null }
	}

	private async row(tenantId: string, id: string) {
		const [row] = await this.deps.db
			.select({ ...publicColumns, tenantId: endpoints.tenantId })
			.from(endpoints)
			.where(ofTenant(tenantId, id))
		if (!row) throw webhookNotFound()
		return row
	}

	async get(tenantId: string, id: string): Promise<Webhook> {
		return toWebhook(await this.row(tenantId, id))
	}

	async update(tenantId: string, id: string, input: WebhookInput): Promise<Webhook> {
		await this.row(tenantId, id)
		const values = await this.checked(tenantId, input)
		const enabled =
			input.enabled === undefined
				? {}
				: input.enabled
					? { enabled: true, disabledReason: null, failingSince: null }
					: { enabled: false, disabledReason: 'user' }
		const [row] = await this.deps.db
			.update(endpoints)
			.set({ ...values, ...enabled, updatedAt: sql`now()` })
			.where(ofTenant(tenantId, id))
			.returning(publicColumns)
		if (!row) throw webhookNotFound()
		return toWebhook(row!)
	}

	/** Deletes the endpoint and its delivery log; nothing more is sent to it. */
	async remove(tenantId: string, id: string): Promise<void> {
		const gone = await this.deps.db.delete(endpoints).where(ofTenant(tenantId, id)).returning({ id: endpoints.id })
		if (!gone.length) throw webhookNotFound()
	}

	/**
	 * A new secret; the current one keeps signing beside it for 24 h, so receivers can switch without
	 * a gap, and so do those rotated out before it until their own 24 h are over.
	 */
	async rotateSecret(tenantId: string, id: string): Promise<{ secret: string; previousSecretExpiresAt: string }> {
		const secret = newSecret()
		const expiresAt = new Date(Date.now() + ROTATION_OVERLAP_MS)
		await this.deps.db.transaction(async (tx) => {
			// The row lock orders concurrent rotations: each takes out of use the secret the one before it set.
			const [endpoint] = await tx.select({ secret: endpoints.secret }).from(endpoints).where(ofTenant(tenantId, id)).for('update')
			if (!endpoint) throw webhookNotFound()
			await tx.delete(previousSecrets).where(and(eq(previousSecrets.endpointId, id), lte(previousSecrets.expiresAt, sql`now()`)))
			const signing = await tx
				.select({ expiresAt: previousSecrets.expiresAt })
				.from(previousSecrets)
				.where(eq(previousSecrets.endpointId, id))
				.orderBy(asc(previousSecrets.expiresAt))
			if (signing.length >= MAX_PREVIOUS_SECRETS) throw tooManyRotations(signing[0]!.expiresAt)
			await tx.insert(previousSecrets).values({ endpointId: id, secret: endpoint.secret, expiresAt })
			await tx
				.update(endpoints)
				.set({ secret: this.deps.cipher.encrypt(secret, secretAad(id)), updatedAt: sql`now()` })
				.where(ofTenant(tenantId, id))
		})
		return { secret, previousSecretExpiresAt: expiresAt.toISOString() }
	}

	/** Queues a `webhook.test` event for the endpoint: the dispatcher sends it like any other. */
	async sendTest(tenantId: string, id: string): Promise<{ deliveryId: string; eventId: string }> {
		const endpoint = await this.row(tenantId, id)
		if (!endpoint.enabled) throw disabled()
		const eventId = Bun.randomUUIDv7()
		const body = JSON.stringify({
			id: null,
			eventId,
			type: WEBHOOK_TEST_EVENT,
			tenantId,
			sessionId: null,
			occurredAt: new Date().toISOString(),
			data: { webhookId: id },
		})
		const deliveryId = await enqueueStandalone(this.deps.db, id, { id: eventId, type: WEBHOOK_TEST_EVENT, body }).catch(deletedMeanwhile)
		return { deliveryId, eventId }
	}

	async deliveries(
		tenantId: string,
		id: string,
		{ limit = 50, cursor, state }: { limit?: number; cursor?: string; state?: WebhookDelivery['state'] },
	) {
		const endpoint = await this.row(tenantId, id)
		const scope = `webhook-deliveries:${id}:${state ?? ''}`
		const before = cursor ? cursorString(this.deps.cursors.decode(scope, cursor)[0]) : undefined
		// uuid v7 ids sort by creation: the log is newest first.
		const rows = await this.deps.db
			.select(deliveryColumns)
			.from(deliveries)
			.where(and(eq(deliveries.endpointId, id), state ? eq(deliveries.state, state) : undefined, before ? lt(deliveries.id, before) : undefined))
			.orderBy(desc(deliveries.id))
			.limit(limit + 1)
		const items = await whenDue(this.deps.db, endpoint, rows.slice(0, limit).map(toDelivery))
		return { items, nextCursor: rows.length > limit ? this.deps.cursors.encode(scope, [items.at(-1)!.id]) : null }
	}

	/**
	 * Sends a delivery again now, whatever its state, or as soon as its session's earlier pending
	 * ones are through (the answer's `nextAttemptAt` says which); a failed one gets one more attempt.
	 */
	async retry(tenantId: string, id: string, deliveryId: string): Promise<WebhookDelivery> {
		const endpoint = await this.row(tenantId, id)
		// Queued on a disabled endpoint it would say "due now" and wait for the endpoint instead.
		if (!endpoint.enabled) throw disabled()
		const [row] = await this.deps.db
			.update(deliveries)
			.set({ state: 'pending', nextAttemptAt: sql`now()`, deliveredAt: null })
			.where(and(eq(deliveries.id, deliveryId), eq(deliveries.endpointId, id)))
			.returning(deliveryColumns)
		if (!row) throw new NotFoundError('DELIVERY_NOT_FOUND', 'No such delivery for this webhook')
		const [delivery] = await whenDue(this.deps.db, endpoint, [toDelivery(row)])
		return delivery!
	}

	/** Queues every event the stream still holds from `since` (a position or an ISO time) that the endpoint takes. */
	async replay(tenantId: string, id: string, since: string): Promise<{ queued: number; truncated: boolean }> {
		const endpoint = await this.row(tenantId, id)
		const bus = this.deps.bus
		if (!bus) throw new ConflictError('REPLAY_UNAVAILABLE', 'This server has no event stream to replay from')
		const from = replayStart(since)
		const info = await bus.info(DOMAIN_EVENTS)
		// A `since` before the first event of a stream that lost none misses nothing.
		const truncated = info.heldFrom === null || compareIds(from, info.heldFrom) < 0
		const target = { id, tenantId, events: endpoint.events, sessionIds: endpoint.sessionIds }
		let after = previousId(from)
		let queued = 0
		for (;;) {
			const entries = await bus.read(DOMAIN_EVENTS, { after, count: REPLAY_BATCH })
			if (!entries.length) break
			queued += await requeueEvents(
				this.deps.db,
				target,
				entries.map((e) => ({ position: e.id, envelope: e.envelope })),
			).catch(deletedMeanwhile)
			after = entries.at(-1)!.id
			if (entries.length < REPLAY_BATCH) break
		}
		return { queued, truncated }
	}
}
