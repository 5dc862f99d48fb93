import { sql } from 'drizzle-orm'
import type { Tx } from '../client'

/**
 * The projection's SQL merge: one `insert … on conflict do update` per table, whose rules are the
 * JS merge of core/projection.ts (a test checks they agree on generated cases). Each statement
 * takes a batch of rows as one JSON document; `::text::json` keeps postgres.js from serialising the
 * string a second time (it would infer a json parameter and quote it).
 */

/** Rows per statement: bounds the JSON document and the statement's memory. */
const CHUNK = 2_000

/** `messageStatusRank` of core/message-status.ts, in SQL. */
const rank = (s: string) => `(case ${s} when 0 then 3 else ${s} * 2 end)`

/** column → its merged value on conflict (`t` = stored row, `excluded` = incoming). */
const MESSAGE_MERGE: Record<string, string> = {
	sender_jid: 'coalesce(t.sender_jid, excluded.sender_jid)',
	sender_alt_jid: 'coalesce(t.sender_alt_jid, excluded.sender_alt_jid)',
	timestamp: 'coalesce(t.timestamp, excluded.timestamp)',
	type: 'coalesce(t.type, excluded.type)',
	push_name: 'coalesce(t.push_name, excluded.push_name)',
	status: `case when excluded.status is null then t.status when t.status is null then excluded.status
		when ${rank('excluded.status')} > ${rank('t.status')} then excluded.status else t.status end`,
	edited_at: 'greatest(t.edited_at, excluded.edited_at)',
	revoked_at: 'least(t.revoked_at, excluded.revoked_at)',
	...Object.fromEntries(
		['text', 'content'].map((c) => [
			c,
			`case when t.revoked_at is not null or excluded.revoked_at is not null then null
				when excluded.edited_at is not null and (t.edited_at is null or excluded.edited_at > t.edited_at) then excluded.${c}
				when t.edited_at is not null then t.${c}
				else coalesce(t.${c}, excluded.${c}) end`,
		]),
	),
}

/** `set` list plus a `where` that skips rows the merge leaves as they are (no write, no bumped updated_at). */
function mergeClause(merge: Record<string, string>, extraSet = ''): string {
	const cols = Object.keys(merge)
	return `do update set ${cols.map((c) => `${c} = ${merge[c]}`).join(', ')}${extraSet}
		where (${cols.map((c) => `t.${c}`).join(', ')}) is distinct from (${cols.map((c) => merge[c]).join(', ')})`
}

export const MESSAGES_SQL = `insert into session_messages as t
	(session_id, chat_jid, message_id, from_me, sender_jid, sender_alt_jid, timestamp, type, text, content, push_name, status, edited_at, revoked_at)
	select r.s, r.c, r.m, r.f, r.sj, r.sa, to_timestamp(r.ts), r.y,
		case when r.ra is null then r.x end, case when r.ra is null then r.j end,
		r.p, r.st, to_timestamp(r.ea), r.ra
	from json_to_recordset($1::text::json) as r(s uuid, c text, m text, f boolean, sj text, sa text, ts float8, y text, x text, j jsonb, p text, st int2, ea float8, ra timestamptz)
	on conflict (session_id, chat_jid, message_id, from_me) ${mergeClause(MESSAGE_MERGE, ', updated_at = now()')}`

/** Newer event replaces, older one fills gaps (ties keep the stored value, so a replay changes nothing). */
const lww = (c: string) =>
	`case when excluded.updated_at > t.updated_at then coalesce(excluded.${c}, t.${c}) else coalesce(t.${c}, excluded.${c}) end`

// `unread_count` starts as WhatsApp's count; derived.ts adds what arrived since.
export const CHATS_SQL = `insert into session_chats as t
	(session_id, jid, pn_jid, lid_jid, name, unread_count, reported_unread, reported_unread_at, archived, last_message_at, updated_at)
	select r.s, r.j, r.pn, r.lid, r.n, r.u, r.u, to_timestamp(r.ua), r.a, to_timestamp(r.lm), r.v
	from json_to_recordset($1::text::json) as r(s uuid, j text, pn text, lid text, n text, u int4, ua float8, a boolean, lm float8, v timestamptz)
	on conflict (session_id, jid) ${mergeClause({
		...Object.fromEntries(['pn_jid', 'lid_jid', 'name', 'reported_unread', 'reported_unread_at', 'archived'].map((c) => [c, lww(c)])),
		last_message_at: 'greatest(t.last_message_at, excluded.last_message_at)',
		updated_at: 'greatest(t.updated_at, excluded.updated_at)',
	})}`

export const CONTACTS_SQL = `insert into session_contacts as t (session_id, jid, pn_jid, lid_jid, name, notify, verified_name, img_url, updated_at)
	select r.s, r.j, r.pn, r.lid, r.n, r.no, r.vn, r.im, r.v
	from json_to_recordset($1::text::json) as r(s uuid, j text, pn text, lid text, n text, no text, vn text, im text, v timestamptz)
	on conflict (session_id, jid) ${mergeClause({
		...Object.fromEntries(['pn_jid', 'lid_jid', 'name', 'notify', 'verified_name', 'img_url'].map((c) => [c, lww(c)])),
		updated_at: 'greatest(t.updated_at, excluded.updated_at)',
	})}`

export const MAPPINGS_SQL = `insert into session_lid_mappings (session_id, lid, pn)
	select r.s, r.l, r.p from json_to_recordset($1::text::json) as r(s uuid, l text, p text)
	on conflict do nothing`

/** Runs `statement` over `rows`, CHUNK rows (one JSON document) at a time. */
export async function bulk(tx: Tx, statement: string, rows: readonly unknown[]) {
	const [before, after] = statement.split('$1') as [string, string]
	for (let i = 0; i < rows.length; i += CHUNK) await tx.execute(sql`${sql.raw(before)}${JSON.stringify(rows.slice(i, i + CHUNK))}${sql.raw(after)}`)
}
