import { MessageStatusCode } from '../../core/message-status'
import type { Db, Tx } from '../client'
import { bulk } from './statements'

/**
 * Columns of a row that follow from rows of other tables: the LID or phone-number form a chat or
 * contact lacks, known from the session's LID↔PN mappings, and a chat's unread count, which counts
 * its messages. Two batches committing side by side cannot see each other's rows, so what depends
 * on rows the batch does not hold is refreshed after its commit: whichever batch commits last sees
 * both. A new row lacking a form and the rows a new mapping names are filled then; a chat is
 * recounted inside the batch when the batch holds its row, after the commit otherwise. A refresh
 * only fills gaps or recounts, so it commutes with the merges and with other refreshes.
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

/**
 * A chat's unread count is what WhatsApp last reported (`reported_unread`, true as of
 * `reported_unread_at`) plus the messages received after that time and not read. The chats
 * statement adds the messages a batch inserted unread; any other change (a report, a received
 * message read, a receipt-only row that became the message) recounts the chat's window. The count
 * is a statement of its own, run while the chat's row is locked, so its snapshot holds every batch
 * that committed before the lock was taken, and a batch that commits later counts again once it
 * has the lock. `m`, when given, is the newest message that changed: a chat whose window starts
 * after it has nothing to recount.
 */
const windowStart = `coalesce(extract(epoch from t.reported_unread_at)::float8, '-infinity'::float8)`
const RECOUNT_KEYS = `(select r.s, r.j, max(r.m) as m, bool_or(r.m is null) as report from json_to_recordset($1::text::json) as r(s uuid, j text, m float8) group by r.s, r.j)`
const inWindow = `(k.report or k.m > ${windowStart})`

/** Locks the chats to recount, in key order, for a recount outside the batch that locked them. */
export const LOCK_RECOUNT_SQL = `select 1 from session_chats t join ${RECOUNT_KEYS} k on t.session_id = k.s and t.jid = k.j
	where ${inWindow} order by t.session_id, t.jid collate "C" for update of t`

export const RECOUNT_SQL = `update session_chats as t set unread_count = c.n
	from (select t.session_id, t.jid, coalesce(t.reported_unread, 0) + (
			select count(*) from session_messages m
			where m.session_id = t.session_id and m.chat_jid = t.jid and not m.from_me
				and m.timestamp > coalesce(t.reported_unread_at, '-infinity') and coalesce(m.status, 0) < ${MessageStatusCode.read}
		)::int as n
		from session_chats t join ${RECOUNT_KEYS} k on t.session_id = k.s and t.jid = k.j where ${inWindow}) c
	where t.session_id = c.session_id and t.jid = c.jid and t.unread_count is distinct from c.n`

export type RecountKey = RowKey & { m: number | null }

/** Recounts chats whose rows the batch's own transaction holds (the chats statement locked them). */
export async function recountHeld(tx: Tx, keys: readonly RecountKey[]) {
	if (keys.length) await bulk(tx, RECOUNT_SQL, keys)
}

/** What a committed batch leaves to refresh. */
export interface Touched {
	/** Rows that lack a form, and both forms of every new mapping. */
	contacts: RowKey[]
	chats: RowKey[]
	/** Chats to recount that the batch did not hold: a received message read by a receipt. */
	recount: RecountKey[]
}

export async function refreshDerived(db: Db, touched: Touched) {
	if (touched.contacts.length) await bulk(db, FILL_CONTACT_FORMS_SQL, touched.contacts)
	if (touched.chats.length) await bulk(db, FILL_CHAT_FORMS_SQL, touched.chats)
	if (touched.recount.length)
		await db.transaction(async (tx) => {
			await bulk(tx, LOCK_RECOUNT_SQL, touched.recount)
			await bulk(tx, RECOUNT_SQL, touched.recount)
		})
}
