import { sql } from 'drizzle-orm'
import { index, integer, pgTable, text, timestamp, uniqueIndex, uuid } from 'drizzle-orm/pg-core'

const id = () =>
	uuid('id')
		.primaryKey()
		.$defaultFn(() => Bun.randomUUIDv7())
const createdAt = () => timestamp('created_at', { withTimezone: true }).notNull().defaultNow()

export const tenants = pgTable('tenants', {
	id: id(),
	name: text('name').notNull(),
	createdAt: createdAt(),
})

export const users = pgTable(
	'users',
	{
		id: id(),
		tenantId: uuid('tenant_id')
			.notNull()
			.references(() => tenants.id, { onDelete: 'cascade' }),
		email: text('email').notNull(),
		name: text('name'),
		role: text('role', { enum: ['owner', 'member'] })
			.notNull()
			.default('owner'),
		passwordHash: text('password_hash').notNull(),
		verifiedAt: timestamp('verified_at', { withTimezone: true }),
		/** Bumped by logout-all and password reset; access tokens carry it and die when it moves. */
		tokenVersion: integer('token_version').notNull().default(0),
		createdAt: createdAt(),
		updatedAt: timestamp('updated_at', { withTimezone: true }).notNull().defaultNow(),
	},
	(t) => [uniqueIndex('users_email_lower_key').on(sql`lower(${t.email})`), index('users_tenant_idx').on(t.tenantId)],
)

export const refreshTokens = pgTable(
	'refresh_tokens',
	{
		id: id(),
		userId: uuid('user_id')
			.notNull()
			.references(() => users.id, { onDelete: 'cascade' }),
		/** All tokens descended from one login share a family; reuse of a rotated one revokes it. */
		familyId: uuid('family_id').notNull(),
		/**
		 * The user's token version when it was issued. It rotates only while the user still has that
		 * version, so logout-all and a password reset end every family, even one rotating meanwhile.
		 */
		tokenVersion: integer('token_version').notNull().default(0),
		tokenHash: text('token_hash').notNull(),
		expiresAt: timestamp('expires_at', { withTimezone: true }).notNull(),
		rotatedAt: timestamp('rotated_at', { withTimezone: true }),
		revokedAt: timestamp('revoked_at', { withTimezone: true }),
		createdAt: createdAt(),
	},
	(t) => [
		uniqueIndex('refresh_tokens_hash_key').on(t.tokenHash),
		index('refresh_tokens_user_idx').on(t.userId),
		index('refresh_tokens_family_idx').on(t.familyId),
		// Expired tokens are deleted every few minutes (token retention): a range of this index, not the table.
		index('refresh_tokens_expiry_idx').on(t.expiresAt),
	],
)

export const userTokens = pgTable(
	'user_tokens',
	{
		id: id(),
		userId: uuid('user_id')
			.notNull()
			.references(() => users.id, { onDelete: 'cascade' }),
		purpose: text('purpose', { enum: ['verify_email', 'password_reset'] }).notNull(),
		tokenHash: text('token_hash').notNull(),
		expiresAt: timestamp('expires_at', { withTimezone: true }).notNull(),
		usedAt: timestamp('used_at', { withTimezone: true }),
		createdAt: createdAt(),
	},
	(t) => [uniqueIndex('user_tokens_hash_key').on(t.tokenHash), index('user_tokens_user_idx').on(t.userId, t.purpose)],
)
