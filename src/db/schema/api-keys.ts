import { sql } from 'drizzle-orm'
import { index, pgTable, text, timestamp, uniqueIndex, uuid } from 'drizzle-orm/pg-core'
import { tenants, users } from './accounts'

/**
 * A tenant's API keys. Only the SHA-256 of a key is kept: keys are 256 random bits, so a fast hash
 * is as good as a slow one against guessing, a lookup by hash costs one index probe per request,
 * and a leaked table yields nothing usable. `prefix` (the first characters of the key) is what
 * lists show, so a person can tell keys apart without the secret.
 */
export const apiKeys = pgTable(
	'api_keys',
	{
		id: uuid('id')
			.primaryKey()
			.$defaultFn(() => Bun.randomUUIDv7()),
		tenantId: uuid('tenant_id')
			.notNull()
			.references(() => tenants.id, { onDelete: 'cascade' }),
		name: text('name').notNull(),
		scopes: text('scopes').array().notNull(),
		prefix: text('prefix').notNull(),
		keyHash: text('key_hash').notNull(),
		/** The user who created it; a key belongs to the tenant and outlives its creator's account. */
		createdBy: uuid('created_by').references(() => users.id, { onDelete: 'set null' }),
		createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
		/** Recorded in memory and written in batches, so it may trail the last request by the flush interval. */
		lastUsedAt: timestamp('last_used_at', { withTimezone: true }),
		revokedAt: timestamp('revoked_at', { withTimezone: true }),
	},
	(t) => [
		uniqueIndex('api_keys_hash_key').on(t.keyHash),
		index('api_keys_tenant_idx').on(t.tenantId, t.createdAt).where(sql`${t.revokedAt} is null`),
	],
)
