import { sql } from 'drizzle-orm'
import { bigint, boolean, index, integer, pgTable, primaryKey, text, timestamp, uniqueIndex, uuid } from 'drizzle-orm/pg-core'
import { MEDIA_KINDS, MEDIA_ORIGINS, MEDIA_STATES } from '../../core/media'
import { tenants } from './accounts'
import { bytea, sessions } from './sessions'

/**
 * The media store's objects by content: one per tenant and sha256, so a file a tenant receives
 * or uploads twice is stored once. Tenants never share objects: a file is only ever served to
 * the tenant that has it.
 */
export const mediaBlobs = pgTable(
	'media_blobs',
	{
		tenantId: uuid('tenant_id')
			.notNull()
			.references(() => tenants.id, { onDelete: 'cascade' }),
		/** SHA-256 of the plaintext bytes, hex. */
		sha256: text('sha256').notNull(),
		/** The media store's key of the object. */
		storageKey: text('storage_key').notNull(),
		size: bigint('size', { mode: 'number' }).notNull(),
		createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
		/**
		 * When a file last came to rest on this object (stored, or found already stored). The
		 * collector (media/collector.ts) leaves objects this recent alone: a file's row names the
		 * object only after this is set.
		 */
		usedAt: timestamp('used_at', { withTimezone: true }).notNull().defaultNow(),
	},
	(t) => [primaryKey({ columns: [t.tenantId, t.sha256] }), index('media_blobs_used_idx').on(t.usedAt)],
)

/** A file of a tenant: a received message's, or one uploaded to be sent. */
export const media = pgTable(
	'media',
	{
		id: uuid('id').primaryKey(),
		tenantId: uuid('tenant_id')
			.notNull()
			.references(() => tenants.id, { onDelete: 'cascade' }),
		origin: text('origin', { enum: MEDIA_ORIGINS }).notNull(),
		/** The message a received file belongs to; null for uploads. */
		sessionId: uuid('session_id').references(() => sessions.id, { onDelete: 'cascade' }),
		chatJid: text('chat_jid'),
		messageId: text('message_id'),
		fromMe: boolean('from_me'),
		kind: text('kind', { enum: MEDIA_KINDS }),
		mimetype: text('mimetype').notNull(),
		/** Plaintext size and SHA-256 (hex): as WhatsApp announced them until the file is stored, then as stored. */
		size: bigint('size', { mode: 'number' }),
		sha256: text('sha256'),
		fileName: text('file_name'),
		width: integer('width'),
		height: integer('height'),
		seconds: integer('seconds'),
		/** An Ogg Opus upload's 64 loudness samples (0 to 100), from its decoded audio: sent with it as a voice note. */
		waveform: bytea('waveform'),
		pages: integer('pages'),
		state: text('state', { enum: MEDIA_STATES }).notNull(),
		failureReason: text('failure_reason'),
		/**
		 * What fetching the file from WhatsApp again takes, weeks later: its key (AES-256-GCM
		 * encrypted like the session's credentials), where it is, and the hash of its encrypted form.
		 */
		mediaKey: bytea('media_key'),
		directPath: text('direct_path'),
		url: text('url'),
		fileEncSha256: text('file_enc_sha256'),
		createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
		updatedAt: timestamp('updated_at', { withTimezone: true }).notNull().defaultNow(),
	},
	(t) => [
		uniqueIndex('media_message_idx').on(t.sessionId, t.messageId, t.fromMe),
		index('media_tenant_sha256_idx').on(t.tenantId, t.sha256),
		// What MEDIA_QUOTA_BYTES counts, read from the index alone (storedBytes): an account with 300,000
		// files is summed in about an eighth of a second, against more than a second from the table.
		index('media_stored_bytes_idx').on(t.tenantId, t.sha256, t.size).where(sql`${t.state} = 'stored'`),
		// A session's unfinished downloads, picked up again when it connects: few rows, found at once.
		index('media_unfinished_idx').on(t.sessionId, t.createdAt).where(sql`${t.state} in ('pending', 'expired')`),
	],
)
