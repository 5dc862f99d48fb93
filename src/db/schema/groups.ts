import { sql } from 'drizzle-orm'
import { boolean, index, integer, jsonb, pgTable, primaryKey, text, timestamp, uuid } from 'drizzle-orm/pg-core'
import { nameSortKey } from '../sort-key'
import { sessions } from './sessions'

const sessionId = () =>
	uuid('session_id')
		.notNull()
		.references(() => sessions.id, { onDelete: 'cascade' })

/**
 * The groups a session takes part in, as the group events told. Each info field keeps the value
 * of the newest event that set it: `versions` holds, per field, the time (epoch ms) of that event,
 * so events merge in any order (db/projection/groups.ts).
 */
export const sessionGroups = pgTable(
	'session_groups',
	{
		sessionId: sessionId(),
		jid: text('jid').notNull(),
		subject: text('subject'),
		/** Null: none, or not known. */
		description: text('description'),
		/** The creator as the group names it (its LID in a LID-addressed group). */
		owner: text('owner'),
		ownerPn: text('owner_pn'),
		/** The member count WhatsApp last reported; the API counts the roster when it has one. */
		size: integer('size'),
		announce: boolean('announce'),
		restrict: boolean('restrict'),
		/** Disappearing messages timer in seconds, 0 when off. */
		ephemeral: integer('ephemeral'),
		addressingMode: text('addressing_mode'),
		/** When the group was created (WhatsApp's time). */
		createdAt: timestamp('created_at', { withTimezone: true }),
		/** Field → epoch ms of the event that set it, `roster` for the newest whole roster. */
		versions: jsonb('versions').notNull().default(sql`'{}'::jsonb`),
		updatedAt: timestamp('updated_at', { withTimezone: true }).notNull().defaultNow(),
	},
	(t) => [
		primaryKey({ columns: [t.sessionId, t.jid] }),
		// GET /sessions/:id/groups: by subject, then JID, keyset in one direction.
		index('session_groups_subject_idx').on(t.sessionId, nameSortKey(sql`coalesce(${t.subject}, '')`), t.jid),
	],
)

/**
 * Members of a session's groups, by the id the group names them with (`participant`: the LID in a
 * LID-addressed group, the phone JID otherwise), with the other form when WhatsApp showed it. A
 * member who left stays as a row with `present` false, so a late add older than the removal cannot
 * bring them back; `at` is the time (epoch ms) of the event that set `present` and `role`.
 */
export const sessionGroupParticipants = pgTable(
	'session_group_participants',
	{
		sessionId: sessionId(),
		groupJid: text('group_jid').notNull(),
		participant: text('participant').notNull(),
		lidJid: text('lid_jid'),
		pnJid: text('pn_jid'),
		role: text('role').notNull().default('member'),
		present: boolean('present').notNull(),
		at: timestamp('at', { withTimezone: true, precision: 3 }).notNull(),
	},
	(t) => [primaryKey({ columns: [t.sessionId, t.groupJid, t.participant] })],
)
