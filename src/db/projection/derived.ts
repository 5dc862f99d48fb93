import { sql } from 'drizzle-orm'
import { MessageStatusCode } from '../../core/message-status'
import type { Db, Tx } from '../client'

/**
 * Columns of a row that follow from rows of other tables: the LID or phone-number form a chat or
 * contact lacks, known from the session's LID↔PN mappings, and a chat's unread count, which
 * counts its messages. They are brought up to date after a
 * batch commits, for the rows it touched, and not inside its transaction: two batches committing
 * side by side (one carrying a mapping, the other the contact) cannot see each other's rows, but
 * whichever commits last sees both when it refreshes. Each refresh only fills gaps, so it commutes
 * with the merges and with other refreshes.
 */

/** A row named by the batch: `s` session, `j` the row's JID (a mapping names both of its forms). */
export interface RowKey {
	s: string
	j: string
}

const KEYS = `(select distinct r.s, r.j from json_to_recordset($1::text::json) as r(s uuid, j text))`

/**
 * Fills `lid_jid` / `pn_jid` of the rows named from the mappings. Rows are locked in key order
 * ("C" collation, the code-unit order the projection sorts its rows in), so a refresh never
 * deadlocks with a batch writing the same rows.
 */
const fillForms = (table: string) => `with locked as materialized (
		select t.session_id, t.jid from ${table} t join ${KEYS} k on t.session_id = k.s and t.jid = k.j
		where (t.lid_jid is null and exists (select 1 from session_lid_mappings m where m.session_id = t.session_id and m.pn = t.jid))
			or (t.pn_jid is null and exists (select 1 from session_lid_mappings m where m.session_id = t.session_id and m.lid = t.jid))
		order by t.session_id, t.jid collate "C" for update of t
	)
	update ${table} as t set
		lid_jid = coalesce(t.lid_jid, (select min(m.lid) from session_lid_mappings m where m.session_id = t.session_id and m.pn = t.jid)),
		pn_jid = coalesce(t.pn_jid, (select min(m.pn) from session_lid_mappings m where m.session_id = t.session_id and m.lid = t.jid))
	from locked l where t.session_id = l.session_id and t.jid = l.jid`

export const FILL_CONTACT_FORMS_SQL = fillForms('session_contacts')
export const FILL_CHAT_FORMS_SQL = fillForms('session_chats')

/** Runs `statement` with `rows` as its one JSON parameter (`$1`). */
export async function withRows(db: Db | Tx, statement: string, rows: readonly unknown[]) {
	if (!rows.length) return
	const [before, after] = statement.split('$1') as [string, string]
	await db.execute(sql`${sql.raw(before)}${JSON.stringify(rows)}${sql.raw(after)}`)
}

/**
 * A chat's unread count: what WhatsApp last reported, plus the messages received after the time
 * that count holds for and not read yet. The chats are locked first, in key order, and counted by
 * a statement of its own, whose snapshot then holds every batch that committed before the locks
 * were ours; a batch committing later counts again once it has them.
 */
export const LOCK_CHATS_SQL = `select 1 from session_chats t join ${KEYS} k on t.session_id = k.s and t.jid = k.j
	order by t.session_id, t.jid collate "C" for update of t`

export const COUNT_UNREAD_SQL = `update session_chats as t set unread_count = c.n
	from (select t.session_id, t.jid, coalesce(t.reported_unread, 0) + (
			select count(*) from session_messages m
			where m.session_id = t.session_id and m.chat_jid = t.jid and not m.from_me
				and m.timestamp > coalesce(t.reported_unread_at, '-infinity') and coalesce(m.status, 0) < ${MessageStatusCode.read}
		)::int as n
		from session_chats t join ${KEYS} k on t.session_id = k.s and t.jid = k.j) c
	where t.session_id = c.session_id and t.jid = c.jid and t.unread_count is distinct from c.n`

/** What a committed batch touched, as the refresh needs it. */
export interface Touched {
	contacts: RowKey[]
	chats: RowKey[]
	/** Chats whose unread count may have changed. */
	unread: RowKey[]
}

export async function refreshDerived(db: Db, touched: Touched) {
	await withRows(db, FILL_CONTACT_FORMS_SQL, touched.contacts)
	await withRows(db, FILL_CHAT_FORMS_SQL, touched.chats)
	if (touched.unread.length)
		await db.transaction(async (tx) => {
			await withRows(tx, LOCK_CHATS_SQL, touched.unread)
			await withRows(tx, COUNT_UNREAD_SQL, touched.unread)
		})
}
