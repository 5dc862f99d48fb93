import { sql } from 'drizzle-orm'
import { bigint, boolean, index, integer, pgTable, text, timestamp, uniqueIndex, uuid } from 'drizzle-orm/pg-core'
import { WEBHOOK_DELIVERY_STATES } from '../../core/webhooks'
import { tenants } from './accounts'
import { bytea } from './sessions'

/** Where a tenant wants its events POSTed, and the secrets that sign them. */
export const webhookEndpoints = pgTable(
	'webhook_endpoints',
	{
		id: uuid('id')
			.primaryKey()
			.$defaultFn(() => Bun.randomUUIDv7()),
		tenantId: uuid('tenant_id')
			.notNull()
			.references(() => tenants.id, { onDelete: 'cascade' }),
		url: text('url').notNull(),
		/** Catalogue types or `*` globs (`session.messages.*`); `{*}` is every type. */
		events: text('events').array().notNull().default(sql`'{*}'::text[]`),
		/** Only these sessions' events; null is every session of the tenant. */
		sessionIds: uuid('session_ids').array(),
		description: text('description'),
		enabled: boolean('enabled').notNull().default(true),
		/** Why the dispatcher disabled it (`gone`: the receiver answered 410; `failing`: nothing succeeded for days). */
		disabledReason: text('disabled_reason'),
		/** The signing secret (`whsec_…`), AES-256-GCM encrypted: signing needs it in the clear, so it cannot be hashed. */
		secret: bytea('secret').notNull(),
		/**
		 * Neither read nor written: secrets rotated out live in webhook_previous_secrets. Kept so that
		 * processes of the release before it, which select them, work on through a rolling upgrade.
		 */
		previousSecret: bytea('previous_secret'),
		previousSecretExpiresAt: timestamp('previous_secret_expires_at', { withTimezone: true }),
		/** Set by the first failed attempt after a success; cleared by the next success. */
		failingSince: timestamp('failing_since', { withTimezone: true }),
		createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
		updatedAt: timestamp('updated_at', { withTimezone: true }).notNull().defaultNow(),
	},
	(t) => [index('webhook_endpoints_tenant_idx').on(t.tenantId, t.id)],
)

/**
 * The secrets rotations took out of use: each keeps signing beside the current one until it
 * expires, so that a receiver still on it (or on the one before) goes on verifying. Encrypted like
 * the endpoint's own. Expired rows sign nothing; a rotation deletes its endpoint's.
 */
export const webhookPreviousSecrets = pgTable(
	'webhook_previous_secrets',
	{
		endpointId: uuid('endpoint_id')
			.notNull()
			.references(() => webhookEndpoints.id, { onDelete: 'cascade' }),
		secret: bytea('secret').notNull(),
		expiresAt: timestamp('expires_at', { withTimezone: true }).notNull(),
	},
	(t) => [index('webhook_previous_secrets_endpoint_idx').on(t.endpointId, t.expiresAt)],
)

/**
 * One event for one endpoint, from the moment it is known until it is delivered or given up: the
 * dispatcher works only from these rows, so a restart (or a kill) loses nothing.
 */
export const webhookDeliveries = pgTable(
	'webhook_deliveries',
	{
		id: uuid('id')
			.primaryKey()
			.$defaultFn(() => Bun.randomUUIDv7()),
		endpointId: uuid('endpoint_id')
			.notNull()
			.references(() => webhookEndpoints.id, { onDelete: 'cascade' }),
		/** The envelope's uuid: `webhook-id` on every attempt, the receiver's idempotency key. */
		eventId: uuid('event_id').notNull(),
		eventType: text('event_type').notNull(),
		/** The ordering lane: one endpoint gets one session's events in stream order. Null (a test event) is unordered. */
		sessionId: uuid('session_id'),
		/** The stream position (`<ms>-<seq>`) as two numbers, so that it sorts; null for events not from the stream. */
		positionMs: bigint('position_ms', { mode: 'number' }),
		positionSeq: bigint('position_seq', { mode: 'number' }),
		/** The request body, exactly as it is signed and sent on every attempt. */
		body: text('body').notNull(),
		state: text('state', { enum: WEBHOOK_DELIVERY_STATES }).notNull().default('pending'),
		attempts: integer('attempts').notNull().default(0),
		nextAttemptAt: timestamp('next_attempt_at', { withTimezone: true }).notNull().defaultNow(),
		lastAttemptAt: timestamp('last_attempt_at', { withTimezone: true }),
		lastStatusCode: integer('last_status_code'),
		lastLatencyMs: integer('last_latency_ms'),
		lastError: text('last_error'),
		deliveredAt: timestamp('delivered_at', { withTimezone: true }),
		/** A dispatcher holds the row while it sends it; past this time another one may take it (its holder died). */
		lockedUntil: timestamp('locked_until', { withTimezone: true }),
		lockOwner: text('lock_owner'),
		createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
	},
	(t) => [
		uniqueIndex('webhook_deliveries_event_uq').on(t.endpointId, t.eventId),
		// Lanes are found through the lane index; deliveries outside the stream have no lane.
		index('webhook_deliveries_unordered_idx').on(t.nextAttemptAt).where(sql`${t.state} = 'pending' and ${t.sessionId} is null`),
		index('webhook_deliveries_lane_idx').on(t.endpointId, t.sessionId, t.positionMs, t.positionSeq).where(sql`${t.state} = 'pending'`),
		// The lanes somebody holds: few rows (a run's first and last), probed by every claim and outcome write.
		index('webhook_deliveries_held_idx').on(t.endpointId, t.sessionId).where(sql`${t.state} = 'pending' and ${t.lockedUntil} is not null`),
		index('webhook_deliveries_log_idx').on(t.endpointId, t.id),
	],
)
