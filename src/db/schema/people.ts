import { bigint, index, pgTable, primaryKey, text, timestamp, uuid } from 'drizzle-orm/pg-core'
import { tenants } from './accounts'
import { sessions } from './sessions'

/**
 * Profile pictures as a session last fetched them from WhatsApp: a cache, kept for
 * PROFILE_PICTURE_TTL_SECONDS after `fetched_at`. Per session, because WhatsApp shows a picture
 * to some accounts and hides it from others. The bytes are a media blob of the tenant (by
 * `sha256`); a null `sha256` records that there was none to see, so that is not asked again
 * before the TTL either.
 */
export const profilePictures = pgTable(
	'profile_pictures',
	{
		sessionId: uuid('session_id')
			.notNull()
			.references(() => sessions.id, { onDelete: 'cascade' }),
		/** The user (phone-number or LID JID) or group JID, as asked. */
		jid: text('jid').notNull(),
		tenantId: uuid('tenant_id')
			.notNull()
			.references(() => tenants.id, { onDelete: 'cascade' }),
		sha256: text('sha256'),
		mimetype: text('mimetype'),
		size: bigint('size', { mode: 'number' }),
		fetchedAt: timestamp('fetched_at', { withTimezone: true }).notNull(),
	},
	// By content too: the media collector asks whether any picture still shows an object.
	(t) => [primaryKey({ columns: [t.sessionId, t.jid] }), index('profile_pictures_sha256_idx').on(t.tenantId, t.sha256)],
)
