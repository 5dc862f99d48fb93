import { sql } from 'drizzle-orm'
import { bigserial, index, jsonb, pgTable, text, timestamp, uuid } from 'drizzle-orm/pg-core'

/**
 * Transactional outbox: a state change and the message announcing it commit together; the relay
 * publishes rows to `stream` in `id` order and stamps `published_at`.
 */
export const outbox = pgTable(
	'outbox',
	{
		id: bigserial('id', { mode: 'number' }).primaryKey(),
		eventId: uuid('event_id').notNull(),
		stream: text('stream').notNull(),
		type: text('type').notNull(),
		payload: jsonb('payload').notNull(),
		createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
		publishedAt: timestamp('published_at', { withTimezone: true }),
	},
	(t) => [
		index('outbox_pending_idx').on(t.id).where(sql`${t.publishedAt} IS NULL`),
		index('outbox_published_idx').on(t.publishedAt).where(sql`${t.publishedAt} IS NOT NULL`),
	],
)
