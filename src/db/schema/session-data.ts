import { sql } from 'drizzle-orm'
import { bigint, boolean, index, integer, jsonb, pgTable, primaryKey, smallint, text, timestamp, uuid } from 'drizzle-orm/pg-core'
import { nameSortKey } from '../sort-key'
import { sessions } from './sessions'

const sessionId = () =>
	uuid('session_id')
		.notNull()
		.references(() => sessions.id, { onDelete: 'cascade' })

/**
 * One row per conversation. `jid` is the canonical identity (the phone JID when known, else the
 * LID); `pn_jid` and `lid_jid` keep both so either form resolves to the same chat.
 */
export const sessionChats = pgTable(
	'session_chats',
	{
		sessionId: sessionId(),
		jid: text('jid').notNull(),
		pnJid: text('pn_jid'),
		lidJid: text('lid_jid'),
		name: text('name'),
		/**
		 * Unread messages: what WhatsApp last reported (`reported_unread`, true as of
		 * `reported_unread_at`) plus the messages received after that and not read yet. Kept up to date
		 * by the projection (db/projection/derived.ts), so a list reads it as it is.
		 */
		unreadCount: integer('unread_count'),
		reportedUnread: integer('reported_unread'),
		reportedUnreadAt: timestamp('reported_unread_at', { withTimezone: true }),
		archived: boolean('archived'),
		lastMessageAt: timestamp('last_message_at', { withTimezone: true }),
		updatedAt: timestamp('updated_at', { withTimezone: true }).notNull().defaultNow(),
	},
	(t) => [
		primaryKey({ columns: [t.sessionId, t.jid] }),
		// GET /chats: newest activity first, keyset on (last_message_at, jid) in one direction, so a
		// row comparison is an index range.
		index('session_chats_recent_idx').on(t.sessionId, sql`${t.lastMessageAt} DESC NULLS LAST`, sql`${t.jid} DESC`),
		index('session_chats_lid_idx').on(t.sessionId, t.lidJid),
		index('session_chats_pn_idx').on(t.sessionId, t.pnJid),
	],
)

export const sessionMessages = pgTable(
	'session_messages',
	{
		sessionId: sessionId(),
		chatJid: text('chat_jid').notNull(),
		messageId: text('message_id').notNull(),
		fromMe: boolean('from_me').notNull(),
		senderJid: text('sender_jid'),
		/** The other form of the sender (LID ↔ phone JID) when WhatsApp gave both. */
		senderAltJid: text('sender_alt_jid'),
		timestamp: timestamp('timestamp', { withTimezone: true }),
		/** Message.seq: orders the messages of one second; 0 when unknown (stored before it was kept). */
		seq: bigint('seq', { mode: 'number' }).notNull().default(0),
		type: text('type'),
		text: text('text'),
		status: smallint('status'),
		/** Raw proto message (JSON) for types the API does not model yet; null for a receipt-only row. */
		content: jsonb('content'),
		/** Message.kind: what the message is (`text`, `image`, `poll`, …); null on a receipt-only row. */
		kind: text('kind'),
		/**
		 * What the kind carries, as the catalogue's Message has it: `{media}`, `{location}`,
		 * `{contacts}` or `{poll}`. Cleared, like the text, when the message is deleted for everyone.
		 */
		kindData: jsonb('kind_data'),
		/** Message.media.id: the file's row in `media`, whose state the API shows. */
		mediaId: uuid('media_id'),
		/** Message.replyTo: the message this one quotes. */
		replyTo: jsonb('reply_to'),
		pushName: text('push_name'),
		/** WhatsApp time of the newest edit applied; `text`/`content` then hold the edited message. */
		editedAt: timestamp('edited_at', { withTimezone: true }),
		/** Deleted for everyone: `text`/`content` are cleared and stay cleared. */
		revokedAt: timestamp('revoked_at', { withTimezone: true }),
		createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
		updatedAt: timestamp('updated_at', { withTimezone: true }).notNull().defaultNow(),
	},
	(t) => [
		primaryKey({ columns: [t.sessionId, t.chatJid, t.messageId, t.fromMe] }),
		// GET /chats/:jid/messages: newest first, keyset on (timestamp, seq, message_id, from_me):
		// within a second in the order the messages arrived, and the whole key so that no two rows tie.
		index('session_messages_chat_order_idx').on(
			t.sessionId,
			t.chatJid,
			sql`${t.timestamp} DESC NULLS LAST`,
			sql`${t.seq} DESC`,
			sql`${t.messageId} DESC`,
			sql`${t.fromMe} DESC`,
		),
	],
)

export const sessionContacts = pgTable(
	'session_contacts',
	{
		sessionId: sessionId(),
		jid: text('jid').notNull(),
		pnJid: text('pn_jid'),
		lidJid: text('lid_jid'),
		/** Name from the address book, else the push name; what lists sort by. */
		name: text('name'),
		notify: text('notify'),
		verifiedName: text('verified_name'),
		imgUrl: text('img_url'),
		updatedAt: timestamp('updated_at', { withTimezone: true }).notNull().defaultNow(),
	},
	(t) => [
		primaryKey({ columns: [t.sessionId, t.jid] }),
		// GET /contacts: by the name a person is shown with (address book, else push name).
		index('session_contacts_display_idx').on(t.sessionId, nameSortKey(sql`coalesce(${t.name}, ${t.notify}, ${t.verifiedName})`), t.jid),
	],
)

/** WhatsApp LID ↔ phone-number JID pairs seen by a session. */
export const sessionLidMappings = pgTable(
	'session_lid_mappings',
	{
		sessionId: sessionId(),
		lid: text('lid').notNull(),
		pn: text('pn').notNull(),
	},
	(t) => [primaryKey({ columns: [t.sessionId, t.lid] }), index('session_lid_mappings_pn_idx').on(t.sessionId, t.pn)],
)

/** Idempotency-Key → the message id a send request got, so a retry answers the same id. */
export const sendRequests = pgTable(
	'send_requests',
	{
		sessionId: sessionId(),
		idempotencyKey: text('idempotency_key').notNull(),
		messageId: text('message_id').notNull(),
		chatJid: text('chat_jid').notNull(),
		requestHash: text('request_hash').notNull(),
		createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
	},
	(t) => [primaryKey({ columns: [t.sessionId, t.idempotencyKey] }), index('send_requests_created_idx').on(t.createdAt)],
)

/**
 * Who reacted to a message with what; the newest reaction of each sender wins, and an empty emoji
 * (a reaction taken back) stays as the newest so that an older one arriving late cannot return.
 */
export const sessionMessageReactions = pgTable(
	'session_message_reactions',
	{
		sessionId: sessionId(),
		chatJid: text('chat_jid').notNull(),
		messageId: text('message_id').notNull(),
		fromMe: boolean('from_me').notNull(),
		sender: text('sender').notNull(),
		emoji: text('emoji').notNull(),
		at: timestamp('at', { withTimezone: true }).notNull(),
	},
	(t) => [primaryKey({ columns: [t.sessionId, t.chatJid, t.messageId, t.fromMe, t.sender] })],
)

/** Each voter's current choice in a poll (the SHA-256 of each option picked); the newest vote wins. */
export const sessionPollVotes = pgTable(
	'session_poll_votes',
	{
		sessionId: sessionId(),
		chatJid: text('chat_jid').notNull(),
		messageId: text('message_id').notNull(),
		fromMe: boolean('from_me').notNull(),
		voter: text('voter').notNull(),
		options: text('options').array().notNull(),
		at: timestamp('at', { withTimezone: true }).notNull(),
	},
	(t) => [primaryKey({ columns: [t.sessionId, t.chatJid, t.messageId, t.fromMe, t.voter] })],
)
