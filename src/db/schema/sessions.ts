import { sql } from 'drizzle-orm'
import { bigint, customType, index, integer, pgTable, primaryKey, text, timestamp, uuid } from 'drizzle-orm/pg-core'
import { DESIRED_STATES, SESSION_STATUSES } from '../../core/session-status'
import { tenants } from './accounts'

export const bytea = customType<{ data: Buffer; driverData: Buffer | Uint8Array }>({
	dataType: () => 'bytea',
	fromDriver: (value) => (Buffer.isBuffer(value) ? value : Buffer.from(value)),
})

export const sessions = pgTable(
	'sessions',
	{
		id: uuid('id')
			.primaryKey()
			.$defaultFn(() => Bun.randomUUIDv7()),
		tenantId: uuid('tenant_id')
			.notNull()
			.references(() => tenants.id, { onDelete: 'cascade' }),
		name: text('name').notNull(),
		status: text('status', { enum: SESSION_STATUSES }).notNull().default('stopped'),
		/** What the tenant asked for; runners converge on it after restarts and takeovers. */
		desiredState: text('desired_state', { enum: DESIRED_STATES }).notNull().default('running'),
		phoneNumber: text('phone_number'),
		jid: text('jid'),
		lid: text('lid'),
		qr: text('qr'),
		pairingCode: text('pairing_code'),
		lastError: text('last_error'),
		lastDisconnectCode: integer('last_disconnect_code'),
		/** Runner currently holding the socket (operator view). */
		ownerRunner: text('owner_runner'),
		/** `occurredAt` of the last status event applied to this row; older (replayed) events are skipped. */
		lastEventAt: timestamp('last_event_at', { withTimezone: true }),
		/** Envelope id of that event: breaks ties between events of the same millisecond (uuid v7 sorts by time). */
		lastEventId: uuid('last_event_id'),
		/**
		 * Set by DELETE /sessions/:id: the API hides the session at once, while the row (and its
		 * creds) live on until the runner has logged out; the consumer then removes it.
		 */
		deletedAt: timestamp('deleted_at', { withTimezone: true }),
		/**
		 * Set on a deleted session once the runner has logged it out (or refused to) and its creds are
		 * gone: the row now waits only for the purge of its rows (modules/sessions/purge.ts).
		 */
		unlinkedAt: timestamp('unlinked_at', { withTimezone: true }),
		createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
		updatedAt: timestamp('updated_at', { withTimezone: true }).notNull().defaultNow(),
	},
	(t) => [
		index('sessions_tenant_idx').on(t.tenantId, t.id),
		// The purge's queue: the deleted sessions whose rows are still being deleted.
		index('sessions_deleted_idx').on(t.deletedAt).where(sql`${t.deletedAt} is not null`),
	],
)

/** Baileys creds, AES-256-GCM encrypted. */
export const sessionAuth = pgTable('session_auth', {
	sessionId: uuid('session_id')
		.primaryKey()
		.references(() => sessions.id, { onDelete: 'cascade' }),
	creds: bytea('creds').notNull(),
	/** Fencing token of the lease under which the row was last written. */
	fence: bigint('fence', { mode: 'number' }).notNull().default(0),
	updatedAt: timestamp('updated_at', { withTimezone: true }).notNull().defaultNow(),
})

/** Baileys signal keys (SignalKeyStore), one row per (type, id), AES-256-GCM encrypted. */
export const sessionAuthKeys = pgTable(
	'session_auth_keys',
	{
		sessionId: uuid('session_id')
			.notNull()
			.references(() => sessions.id, { onDelete: 'cascade' }),
		type: text('type').notNull(),
		keyId: text('key_id').notNull(),
		value: bytea('value').notNull(),
	},
	(t) => [primaryKey({ columns: [t.sessionId, t.type, t.keyId] })],
)
