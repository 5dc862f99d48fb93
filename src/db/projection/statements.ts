import { sql } from 'drizzle-orm'
import { CONTENT_WRAPPERS, TEXT_FIELDS, WRAPPER_DEPTH } from '../../core/edited-content'
import { MessageStatusCode } from '../../core/message-status'
import type { Db, Tx } from '../client'
import { executePrepared } from '../prepared'

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

const REVOKED = 't.revoked_at is not null or excluded.revoked_at is not null'
const NEWER_EDIT = 'excluded.edited_at is not null and (t.edited_at is null or excluded.edited_at > t.edited_at)'

const jsonPath = (keys: readonly string[]) => `array[${keys.map((k) => `'${k}'`).join(', ')}]::text[]`

/**
 * `editedContent` of core/edited-content.ts in SQL, from the same tables: `content` with its text
 * (or caption) set to `text`. `w` walks down the wrappers to the innermost message, as Baileys
 * unwraps them; the deepest path it reaches is that message's.
 */
function editedContentSql(content: string, text: string): string {
	const at = (keys: readonly string[]) => `i.p || ${jsonPath(keys)}`
	const places = TEXT_FIELDS.map(({ type, field, optional }) => {
		if (field === undefined)
			return `when jsonb_typeof(v.c #> (${at([type])})) = 'string' then jsonb_set(v.c, ${at([type])}, to_jsonb(coalesce(v.b, '')))`
		const set = `jsonb_set(v.c, ${at([type, field])}, to_jsonb(coalesce(v.b, '')))`
		return `when jsonb_typeof(v.c #> (${at([type])})) = 'object' then ${optional ? `case when v.b is null then v.c #- (${at([type, field])}) else ${set} end` : set}`
	})
	return `(with recursive v(c, b) as (select ${content}, ${text}::text),
		w(p, d) as (select '{}'::text[], 0
			union all
			select w.p || array[x.k, 'message'], w.d + 1 from w, v, lateral (select k from unnest(${jsonPath(CONTENT_WRAPPERS)}) with ordinality as u(k, o)
				where jsonb_typeof(v.c #> (w.p || array[k, 'message'])) = 'object' order by o limit 1) x
			where w.d < ${WRAPPER_DEPTH})
		select case ${places.join('\n\t\t\t')} else v.c end
		from v, (select p from w order by d desc limit 1) i)`
}

/** column → its merged value on conflict (`t` = stored row, `excluded` = incoming). */
const MESSAGE_MERGE: Record<string, string> = {
	sender_jid: 'coalesce(t.sender_jid, excluded.sender_jid)',
	sender_alt_jid: 'coalesce(t.sender_alt_jid, excluded.sender_alt_jid)',
	timestamp: 'coalesce(t.timestamp, excluded.timestamp)',
	seq: 'case when t.seq = 0 then excluded.seq when excluded.seq = 0 then t.seq else least(t.seq, excluded.seq) end',
	type: 'coalesce(t.type, excluded.type)',
	push_name: 'coalesce(t.push_name, excluded.push_name)',
	status: `case when excluded.status is null then t.status when t.status is null then excluded.status
		when ${rank('excluded.status')} > ${rank('t.status')} then excluded.status else t.status end`,
	edited_at: 'greatest(t.edited_at, excluded.edited_at)',
	revoked_at: 'least(t.revoked_at, excluded.revoked_at)',
	kind: 'coalesce(t.kind, excluded.kind)',
	reply_to: 'coalesce(t.reply_to, excluded.reply_to)',
	// What a message deleted for everyone carried is gone with its text.
	...Object.fromEntries(['kind_data', 'media_id'].map((c) => [c, `case when ${REVOKED} then null else coalesce(t.${c}, excluded.${c}) end`])),
	text: `case when ${REVOKED} then null
		when ${NEWER_EDIT} then excluded.text
		when t.edited_at is not null then t.text
		else coalesce(t.text, excluded.text) end`,
	// An edit keeps the message whole: its text set into the first content stored (see core/edited-content.ts).
	content: `case when ${REVOKED} then null
		when t.edited_at is not null or excluded.edited_at is not null
			then ${editedContentSql('coalesce(t.content, excluded.content)', `case when ${NEWER_EDIT} then excluded.text else t.text end`)}
		else coalesce(t.content, excluded.content) end`,
}

/** `set` list plus a `where` that skips rows the merge leaves as they are (no write, no bumped updated_at). */
function mergeClause(merge: Record<string, string>, extraSet = ''): string {
	const cols = Object.keys(merge)
	return `do update set ${cols.map((c) => `${c} = ${merge[c]}`).join(', ')}${extraSet}
		where (${cols.map((c) => `t.${c}`).join(', ')}) is distinct from (${cols.map((c) => merge[c]).join(', ')})`
}

/**
 * Per chat, the received messages the statement wrote, for the unread count (derived.ts): `f` the
 * times of those it inserted unread, `m` the newest of those that existed and changed (or null).
 * A row the statement inserted has `xmax = 0`; one it updated on conflict carries the lock.
 */
export interface MessageWrites {
	s: string
	j: string
	f: number[]
	m: number | null
}

export const MESSAGES_SQL = `with w as (insert into session_messages as t
	(session_id, chat_jid, message_id, from_me, sender_jid, sender_alt_jid, timestamp, seq, type, text, content, push_name, status, edited_at, revoked_at,
		kind, kind_data, media_id, reply_to)
	select r.s, r.c, r.m, r.f, r.sj, r.sa, to_timestamp(r.ts), coalesce(r.q, 0), r.y,
		case when r.ra is null then r.x end, case when r.ra is null then r.j end,
		r.p, r.st, to_timestamp(r.ea), r.ra,
		r.k, case when r.ra is null then r.kd end, case when r.ra is null then r.mi end, r.rt
	from json_to_recordset($1::text::json) as r(s uuid, c text, m text, f boolean, sj text, sa text, ts float8, q int8, y text, x text, j jsonb, p text, st int2, ea float8, ra timestamptz,
		k text, kd jsonb, mi uuid, rt jsonb)
	on conflict (session_id, chat_jid, message_id, from_me) ${mergeClause(MESSAGE_MERGE, ', updated_at = now()')}
	returning t.session_id, t.chat_jid, t.from_me, t.status, extract(epoch from t.timestamp)::float8 as ts, t.xmax = 0 as fresh)
	select session_id as s, chat_jid as j,
		coalesce(json_agg(ts) filter (where fresh and coalesce(status, 0) < ${MessageStatusCode.read}), '[]') as f,
		max(ts) filter (where not fresh) as m
	from w where not from_me and ts is not null group by session_id, chat_jid`

/** A reaction or a vote replaces the stored one when newer (at the same time, when greater: the JS merge's `newest`). */
export const REACTIONS_SQL = `insert into session_message_reactions as t (session_id, chat_jid, message_id, from_me, sender, emoji, at)
	select r.s, r.c, r.m, r.f, r.sd, r.e, to_timestamp(r.at)
	from json_to_recordset($1::text::json) as r(s uuid, c text, m text, f boolean, sd text, e text, at float8)
	on conflict (session_id, chat_jid, message_id, from_me, sender) do update set emoji = excluded.emoji, at = excluded.at
	where (excluded.at, excluded.emoji) > (t.at, t.emoji)`

export const VOTES_SQL = `insert into session_poll_votes as t (session_id, chat_jid, message_id, from_me, voter, options, at)
	select r.s, r.c, r.m, r.f, r.v, array(select json_array_elements_text(r.o)), to_timestamp(r.at)
	from json_to_recordset($1::text::json) as r(s uuid, c text, m text, f boolean, v text, o json, at float8)
	on conflict (session_id, chat_jid, message_id, from_me, voter) do update set options = excluded.options, at = excluded.at
	where (excluded.at, array_to_json(excluded.options)::text) > (t.at, array_to_json(t.options)::text)`

/** The file of a message deleted for everyone goes with it: its bytes are no longer served. */
export const REVOKED_MEDIA_SQL = `delete from media where (session_id, message_id, from_me) in
	(select r.s, r.m, r.f from json_to_recordset($1::text::json) as r(s uuid, m text, f boolean))`

/** A chat or contact row the statement wrote, `x` when it is new and lacks one of its forms (derived.ts fills it). */
export interface RowWrite {
	s: string
	j: string
	x: boolean
}
const RETURN_LACKING = 'returning t.session_id as s, t.jid as j, t.xmax = 0 and (t.pn_jid is null or t.lid_jid is null) as x'

/** Newer event replaces, older one fills gaps (ties keep the stored value, so a replay changes nothing). */
const lww = (c: string) =>
	`case when excluded.updated_at > t.updated_at then coalesce(excluded.${c}, t.${c}) else coalesce(t.${c}, excluded.${c}) end`

/** WhatsApp's count as of a later time is the fresher one (a tie goes to the newer event). */
const LATER_REPORT = `excluded.reported_unread_at is not null and (t.reported_unread_at is null
	or excluded.reported_unread_at > t.reported_unread_at
	or (excluded.reported_unread_at = t.reported_unread_at and excluded.updated_at > t.updated_at))`

/**
 * The received messages the batch inserted unread that a chat's count takes: those after the time
 * WhatsApp's count holds for (`window`). `$2` maps `<session> <chat>` to their times (MessageWrites.f).
 */
const freshUnread = (session: string, chat: string, window: string) => `(select count(*)::int
	from jsonb_array_elements_text((select o from fresh) -> (${session}::text || ' ' || ${chat})) as x(ts)
	where x.ts::float8 > coalesce(${window}, '-infinity'::float8))`

/**
 * `unread_count` is WhatsApp's count (none when it gave none) plus the received messages the batch
 * inserted unread, counted here while the row is locked: a recount by another batch either ran
 * before (and could not see them) or waits for this commit. Any other change to it is a recount
 * (derived.ts).
 */
export const CHATS_SQL = `with fresh as materialized (select $2::text::jsonb as o)
	insert into session_chats as t
	(session_id, jid, pn_jid, lid_jid, name, unread_count, reported_unread, reported_unread_at, archived, last_message_at, updated_at)
	select r.s, r.j, r.pn, r.lid, r.n, coalesce(r.u, 0) + ${freshUnread('r.s', 'r.j', 'r.ua')}, r.u, to_timestamp(r.ua), r.a, to_timestamp(r.lm), r.v
	from json_to_recordset($1::text::json) as r(s uuid, j text, pn text, lid text, n text, u int4, ua float8, a boolean, lm float8, v timestamptz)
	on conflict (session_id, jid) ${mergeClause({
		...Object.fromEntries(['pn_jid', 'lid_jid', 'name', 'archived'].map((c) => [c, lww(c)])),
		...Object.fromEntries(['reported_unread', 'reported_unread_at'].map((c) => [c, `case when ${LATER_REPORT} then excluded.${c} else t.${c} end`])),
		last_message_at: 'greatest(t.last_message_at, excluded.last_message_at)',
		unread_count: `coalesce(t.unread_count, t.reported_unread, 0) + ${freshUnread('excluded.session_id', 'excluded.jid', 'extract(epoch from t.reported_unread_at)::float8')}`,
		updated_at: 'greatest(t.updated_at, excluded.updated_at)',
	})}
	${RETURN_LACKING}`

export const CONTACTS_SQL = `insert into session_contacts as t (session_id, jid, pn_jid, lid_jid, name, notify, verified_name, img_url, updated_at)
	select r.s, r.j, r.pn, r.lid, r.n, r.no, r.vn, r.im, r.v
	from json_to_recordset($1::text::json) as r(s uuid, j text, pn text, lid text, n text, no text, vn text, im text, v timestamptz)
	on conflict (session_id, jid) ${mergeClause({
		...Object.fromEntries(['pn_jid', 'lid_jid', 'name', 'notify', 'verified_name', 'img_url'].map((c) => [c, lww(c)])),
		updated_at: 'greatest(t.updated_at, excluded.updated_at)',
	})}
	${RETURN_LACKING}`

export interface MappingWrite {
	s: string
	l: string
	p: string
}

/** Returns the mappings it inserted: only a new pair can fill a row's missing form. */
export const MAPPINGS_SQL = `insert into session_lid_mappings (session_id, lid, pn)
	select r.s, r.l, r.p from json_to_recordset($1::text::json) as r(s uuid, l text, p text)
	on conflict do nothing returning session_id as s, lid as l, pn as p`

/** Rows of a result, from either driver (postgres.js answers an array, PGlite `{ rows }`). */
export function rowsOf<R>(result: unknown): R[] {
	return (Array.isArray(result) ? result : ((result as { rows?: R[] }).rows ?? [])) as R[]
}

/**
 * Runs `statement` over `rows` (`$1`), CHUNK rows (one JSON document) at a time, with `second` as
 * `$2` when the statement takes one; resolves with what it returned.
 */
export async function bulk<R = unknown>(tx: Tx | Db, statement: string, rows: readonly unknown[], second?: unknown): Promise<R[]> {
	const parts = statement.split(/\$([12])/)
	const out: R[] = []
	for (let i = 0; i < rows.length; i += CHUNK) {
		const chunk = JSON.stringify(rows.slice(i, i + CHUNK))
		const query = sql.join(
			parts.map((part, n) => (n % 2 === 0 ? sql.raw(part) : sql`${part === '1' ? chunk : JSON.stringify(second ?? null)}`)),
			sql``,
		)
		// Prepared: these statements are long, and parsing one cost more than running it on a small batch.
		out.push(...rowsOf<R>(await executePrepared(tx, 'bulk', query)))
	}
	return out
}
