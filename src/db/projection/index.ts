import { and, eq, inArray, sql, type SQL } from 'drizzle-orm'
import type { Db, Tx } from '../client'
import { sendRequests, sessionChats, sessionContacts, sessionLidMappings, sessionMessages, sessions } from '../schema'
import type { Chat, Contact, DomainEvent, Message, MessageKey, MessageUpdate } from '../../core/catalogue'

/**
 * Persists domain events into Postgres (sessions, session_chats, session_messages,
 * session_contacts, session_lid_mappings). Works on postgres.js and PGlite alike.
 *
 * Idempotent and order-independent, because delivery is at least once and a failed entry is
 * retried after later ones succeeded. Every column is merged with a rule that gives the same row
 * whatever the order and however often an event is applied:
 * - messages: identity and the original content are first-wins (a receipt-only row has none and
 *   the later upsert fills it); status takes the furthest along (PENDING < ERROR < SERVER_ACK <
 *   DELIVERY_ACK < READ < PLAYED); an edit applies when newer than the last one applied; a revoke
 *   clears text and content for good; a receipt never touches the message's timestamp.
 * - chats and contacts: a field given by an event newer than the row (`updated_at` = the newest
 *   event's `occurredAt`) replaces the stored one, an older event only fills gaps; a chat's
 *   `last_message_at` only moves forward.
 * - sessions: status events apply only when newer than the last one applied
 *   (`last_event_at`, `last_event_id`), except that an older `connected` still fills a missing
 *   jid/lid/phone number; `session.deleted` removes the session and, by cascade,
 *   everything stored for it; events of a missing session are dropped (it was deleted).
 * - sessions deleted through the API (`deleted_at` set, in the transaction that emitted
 *   `session.deleted` and `session.logout`): `session.deleted` deletes their chats, messages and
 *   contacts but keeps the row, whose creds the runner needs to unlink the device; the runner's
 *   `logged_out` (or its refusal of the logout) then removes the row. Nothing else is applied to
 *   such a session any more.
 * - LID↔PN mappings: first-wins.
 * A batch is one transaction; rows go to Postgres as one JSON document per table
 * (`json_to_recordset`), sorted by key so concurrent consumers lock rows in the same order.
 */

export interface ProjectionStats {
	events: number
	/** Events of sessions that do not exist (any more). */
	dropped: number
	messages: number
	chats: number
	contacts: number
	mappings: number
	sessionUpdates: number
	deletedSessions: number
}

/** Rows per statement: bounds the JSON document and the statement's memory. */
const CHUNK = 2_000

const isLid = (jid: string | undefined) => !!jid && jid.endsWith('@lid')
const isPn = (jid: string | undefined) => !!jid && jid.endsWith('@s.whatsapp.net')
const present = (s: string | undefined) => (s ? s : undefined)

/** The phone-number JID when the event carries one, else the LID: one identity per person. */
function canonical(jid: string, alt?: string): string {
	return isLid(jid) && isPn(alt) ? alt! : jid
}

/** Both forms of an identity, as far as the event tells. */
function forms(jid: string, ...others: (string | undefined)[]) {
	const all = [jid, ...others]
	return { pn: all.find(isPn), lid: all.find(isLid) }
}

// Rows as sent to Postgres; short keys keep the JSON document small.
interface MessageRow {
	s: string
	c: string
	m: string
	f: boolean
	sj?: string
	sa?: string
	ts?: number
	y?: string
	x?: string
	j?: unknown
	p?: string
	st?: number
	ea?: number
	ra?: string
}
interface ChatRow {
	s: string
	j: string
	pn?: string
	lid?: string
	n?: string
	u?: number
	a?: boolean
	lm?: number
	v: string
}
interface ContactRow {
	s: string
	j: string
	pn?: string
	lid?: string
	n?: string
	no?: string
	vn?: string
	im?: string
	v: string
}
interface MappingRow {
	s: string
	l: string
	p: string
}

const statusRank = (s: number | undefined) => (s === undefined ? -1 : s === 0 ? 3 : s * 2)

/** The JS twin of the SQL merge below, for rows that meet twice within one batch. */
function mergeMessage(acc: MessageRow, row: MessageRow) {
	acc.sj ??= row.sj
	acc.sa ??= row.sa
	acc.ts ??= row.ts
	acc.y ??= row.y
	acc.p ??= row.p
	if (statusRank(row.st) > statusRank(acc.st)) acc.st = row.st
	if (row.ea !== undefined && (acc.ea === undefined || row.ea > acc.ea)) {
		acc.x = row.x
		acc.j = row.j
		acc.ea = row.ea
	} else if (acc.ea === undefined) {
		acc.x ??= row.x
		acc.j ??= row.j
	}
	if (row.ra !== undefined && (acc.ra === undefined || row.ra < acc.ra)) acc.ra = row.ra
}

/** Newer-or-first for every versioned field: mirrors `lww()` in SQL. */
function mergeVersioned<R extends { v: string }>(acc: R, row: R, fields: readonly (keyof R)[]) {
	const newer = row.v > acc.v
	for (const f of fields) if (row[f] !== undefined && (newer || acc[f] === undefined)) acc[f] = row[f]
	if (newer) acc.v = row.v
}

function mergeChat(acc: ChatRow, row: ChatRow) {
	const lm = Math.max(acc.lm ?? -1, row.lm ?? -1)
	mergeVersioned(acc, row, ['pn', 'lid', 'n', 'u', 'a'])
	if (lm >= 0) acc.lm = lm
}

const mergeContact = (acc: ContactRow, row: ContactRow) => mergeVersioned(acc, row, ['pn', 'lid', 'n', 'no', 'vn', 'im'])

class Rows<R> {
	readonly byKey = new Map<string, R>()
	constructor(private readonly merge: (acc: R, row: R) => void) {}
	add(key: string, row: R) {
		const acc = this.byKey.get(key)
		if (acc) this.merge(acc, row)
		else this.byKey.set(key, row)
	}
	/** Sorted by key, so every transaction locks rows in the same order. */
	sorted(): R[] {
		return [...this.byKey.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(([, r]) => r)
	}
}

/** One ISO form (UTC, milliseconds), so versions compare as strings. */
const isoMs = (iso: string) => new Date(iso).toISOString()

class Batch {
	readonly messages = new Rows<MessageRow>(mergeMessage)
	readonly chats = new Rows<ChatRow>(mergeChat)
	readonly contacts = new Rows<ContactRow>(mergeContact)
	readonly mappings = new Rows<MappingRow>(() => {})

	mapping(s: string, lid: string | undefined, pn: string | undefined) {
		if (lid && pn) this.mappings.add(`${s}\u0000${lid}`, { s, l: lid, p: pn })
	}

	private chatOf(s: string, key: MessageKey) {
		const jid = canonical(key.remoteJid, key.remoteJidAlt)
		return { jid, ...forms(key.remoteJid, key.remoteJidAlt) }
	}

	private keyRow(s: string, key: MessageKey): MessageRow {
		const chat = this.chatOf(s, key)
		this.mapping(s, chat.lid, chat.pn)
		const participant = present(key.participant)
		const participantAlt = present(key.participantAlt)
		let sj: string | undefined
		let sa: string | undefined
		if (participant) {
			sj = canonical(participant, participantAlt)
			sa = sj === participant ? participantAlt : participant
			const p = forms(participant, participantAlt)
			this.mapping(s, p.lid, p.pn)
		} else if (!key.fromMe) {
			sj = chat.jid
			sa = chat.jid === key.remoteJid ? present(key.remoteJidAlt) : key.remoteJid
		}
		return { s, c: chat.jid, m: key.id, f: key.fromMe, sj, sa }
	}

	private messageKey = (r: MessageRow) => `${r.s}\u0000${r.c}\u0000${r.m}\u0000${r.f ? 1 : 0}`

	message(s: string, occurredAt: string, m: Message) {
		const row = this.keyRow(s, m.key)
		row.ts = m.timestamp
		row.y = m.type
		row.x = m.text
		row.j = m.content
		row.p = m.pushName
		row.st = m.status
		this.messages.add(this.messageKey(row), row)
		const chat = this.chatOf(s, m.key)
		this.chats.add(`${s}\u0000${chat.jid}`, { s, j: chat.jid, pn: chat.pn, lid: chat.lid, lm: m.timestamp, v: occurredAt })
	}

	update(s: string, occurredAt: string, u: MessageUpdate) {
		const row = this.keyRow(s, u.key)
		// Identity of a message comes from its upsert; a receipt knows only the key.
		row.sj = row.sa = undefined
		row.st = u.status
		if (u.edit) {
			row.ea = u.edit.editedAt
			row.x = u.edit.text
			row.j = u.edit.content
			row.y = u.edit.type
		}
		if (u.revoked) row.ra = occurredAt
		this.messages.add(this.messageKey(row), row)
	}

	chat(s: string, occurredAt: string, c: Chat) {
		const { pn, lid } = forms(c.jid, c.pn, c.lid)
		this.mapping(s, lid, pn)
		const j = pn ?? c.jid
		this.chats.add(`${s}\u0000${j}`, { s, j, pn, lid, n: c.name, u: c.unreadCount, a: c.archived, lm: c.lastMessageAt, v: occurredAt })
	}

	contact(s: string, occurredAt: string, c: Contact) {
		const { pn, lid } = forms(c.jid, c.pn, c.lid)
		this.mapping(s, lid, pn)
		const j = pn ?? c.jid
		this.contacts.add(`${s}\u0000${j}`, { s, j, pn, lid, n: c.name, no: c.notify, vn: c.verifiedName, im: c.imgUrl, v: occurredAt })
	}
}

// ── SQL ──────────────────────────────────────────────────────────────────────────────────────
// Each statement takes the batch as one JSON document; `::text::json` keeps postgres.js from
// serialising the string a second time (it would infer a json parameter and quote it).

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

const MESSAGES_SQL = `insert into session_messages as t
	(session_id, chat_jid, message_id, from_me, sender_jid, sender_alt_jid, timestamp, type, text, content, push_name, status, edited_at, revoked_at)
	select r.s, r.c, r.m, r.f, r.sj, r.sa, to_timestamp(r.ts), r.y,
		case when r.ra is null then r.x end, case when r.ra is null then r.j end,
		r.p, r.st, to_timestamp(r.ea), r.ra
	from json_to_recordset($1::text::json) as r(s uuid, c text, m text, f boolean, sj text, sa text, ts float8, y text, x text, j jsonb, p text, st int2, ea float8, ra timestamptz)
	on conflict (session_id, chat_jid, message_id, from_me) ${mergeClause(MESSAGE_MERGE, ', updated_at = now()')}`

/** Newer event replaces, older one fills gaps (ties keep the stored value, so a replay changes nothing). */
const lww = (c: string) => `case when excluded.updated_at > t.updated_at then coalesce(excluded.${c}, t.${c}) else coalesce(t.${c}, excluded.${c}) end`

const CHATS_SQL = `insert into session_chats as t (session_id, jid, pn_jid, lid_jid, name, unread_count, archived, last_message_at, updated_at)
	select r.s, r.j, r.pn, r.lid, r.n, r.u, r.a, to_timestamp(r.lm), r.v
	from json_to_recordset($1::text::json) as r(s uuid, j text, pn text, lid text, n text, u int4, a boolean, lm float8, v timestamptz)
	on conflict (session_id, jid) ${mergeClause({
		...Object.fromEntries(['pn_jid', 'lid_jid', 'name', 'unread_count', 'archived'].map((c) => [c, lww(c)])),
		last_message_at: 'greatest(t.last_message_at, excluded.last_message_at)',
		updated_at: 'greatest(t.updated_at, excluded.updated_at)',
	})}`

const CONTACTS_SQL = `insert into session_contacts as t (session_id, jid, pn_jid, lid_jid, name, notify, verified_name, img_url, updated_at)
	select r.s, r.j, r.pn, r.lid, r.n, r.no, r.vn, r.im, r.v
	from json_to_recordset($1::text::json) as r(s uuid, j text, pn text, lid text, n text, no text, vn text, im text, v timestamptz)
	on conflict (session_id, jid) ${mergeClause({
		...Object.fromEntries(['pn_jid', 'lid_jid', 'name', 'notify', 'verified_name', 'img_url'].map((c) => [c, lww(c)])),
		updated_at: 'greatest(t.updated_at, excluded.updated_at)',
	})}`

const MAPPINGS_SQL = `insert into session_lid_mappings (session_id, lid, pn)
	select r.s, r.l, r.p from json_to_recordset($1::text::json) as r(s uuid, l text, p text)
	on conflict do nothing`

async function bulk(tx: Tx, statement: string, rows: readonly unknown[]) {
	const [before, after] = statement.split('$1') as [string, string]
	for (let i = 0; i < rows.length; i += CHUNK)
		await tx.execute(sql`${sql.raw(before)}${JSON.stringify(rows.slice(i, i + CHUNK))}${sql.raw(after)}`)
}

export type StatusEvent = Extract<DomainEvent, { type: 'session.qr.updated' | 'session.pairing_code.updated' | 'session.status.connected' | 'session.status.disconnected' }>

/** What a status event writes on its session row; the WebSocket snapshot applies it too, to events not persisted yet. */
export function sessionPatch(e: StatusEvent): Partial<typeof sessions.$inferInsert> {
	switch (e.type) {
		case 'session.qr.updated':
			return { status: 'qr', qr: e.data.qr }
		case 'session.pairing_code.updated':
			return { status: 'qr', pairingCode: e.data.code }
		case 'session.status.connected':
			return {
				status: 'connected',
				jid: e.data.jid,
				...(e.data.lid ? { lid: e.data.lid } : {}),
				...(e.data.phoneNumber ? { phoneNumber: e.data.phoneNumber } : {}),
				qr: null,
				pairingCode: null,
				lastError: null,
				lastDisconnectCode: null,
				ownerRunner: e.data.runner ?? null,
			}
		case 'session.status.disconnected':
			return {
				status: e.data.status,
				qr: null,
				pairingCode: null,
				lastDisconnectCode: e.data.code ?? null,
				lastError: e.data.status === 'stopped' ? null : (e.data.message ?? e.data.reason),
				// A reconnecting session keeps its last owner until the next one connects.
				...(e.data.status === 'reconnecting' ? {} : { ownerRunner: null }),
			}
	}
}

const NIL_UUID = '00000000-0000-0000-0000-000000000000'
const TOMBSTONE_SKEW_MS = 5_000

/** Applies one batch of domain events in one transaction. Safe to call again with any of them. */
export async function applyEvents(db: Db, events: readonly DomainEvent[]): Promise<ProjectionStats> {
	const stats: ProjectionStats = { events: events.length, dropped: 0, messages: 0, chats: 0, contacts: 0, mappings: 0, sessionUpdates: 0, deletedSessions: 0 }
	if (!events.length) return stats
	const ids = [...new Set(events.map((e) => e.sessionId))]

	await db.transaction(async (tx) => {
		// KEY SHARE: a concurrent delete of one of these sessions waits for this batch, so the rows
		// below never miss their foreign key.
		const found = await tx.select({ id: sessions.id, deletedAt: sessions.deletedAt }).from(sessions).where(inArray(sessions.id, ids)).for('key share')
		const live = new Set(found.map((r) => r.id))
		const tombstones = new Map(found.filter((r) => r.deletedAt).map((r) => [r.id, r.deletedAt!.getTime()]))
		// A logout from before the deletion (retried late) must not end the row before the runner
		// has seen the logout command; the margin absorbs clock skew between runner and database.
		const loggedOut = (e: DomainEvent) =>
			(e.type === 'session.status.disconnected' && e.data.status === 'logged_out' && Date.parse(e.occurredAt) >= tombstones.get(e.sessionId)! - TOMBSTONE_SKEW_MS) ||
			(e.type === 'session.command.failed' && e.data.command === 'session.logout')
		const deleted = new Set(
			events
				.filter((e) => live.has(e.sessionId) && (tombstones.has(e.sessionId) ? loggedOut(e) : e.type === 'session.deleted'))
				.map((e) => e.sessionId),
		)
		if (deleted.size) {
			await tx.delete(sessions).where(inArray(sessions.id, [...deleted]))
			stats.deletedSessions = deleted.size
		}
		const wiped = [...new Set(events.filter((e) => e.type === 'session.deleted' && tombstones.has(e.sessionId) && !deleted.has(e.sessionId)).map((e) => e.sessionId))]
		if (wiped.length)
			for (const table of [sessionMessages, sessionChats, sessionContacts, sessionLidMappings, sendRequests])
				await tx.delete(table).where(inArray(table.sessionId, wiped))

		const batch = new Batch()
		const statusEvents: StatusEvent[] = []
		for (const e of events) {
			if (!live.has(e.sessionId) || deleted.has(e.sessionId) || tombstones.has(e.sessionId)) {
				if (e.type !== 'session.deleted') stats.dropped++
				continue
			}
			const s = e.sessionId
			const at = isoMs(e.occurredAt)
			switch (e.type) {
				case 'session.qr.updated':
				case 'session.pairing_code.updated':
				case 'session.status.connected':
				case 'session.status.disconnected':
					statusEvents.push(e)
					break
				case 'session.history.sync':
					for (const m of e.data.lidPnMappings) batch.mapping(s, m.lid, m.pn)
					for (const c of e.data.contacts) batch.contact(s, at, c)
					for (const c of e.data.chats) batch.chat(s, at, c)
					for (const m of e.data.messages) batch.message(s, at, m)
					break
				case 'session.messages.upsert':
					for (const m of e.data.messages) batch.message(s, at, m)
					break
				case 'session.messages.update':
					for (const u of e.data.updates) batch.update(s, at, u)
					break
				case 'session.contacts.upsert':
					for (const c of e.data.contacts) batch.contact(s, at, c)
					break
				case 'session.chats.upsert':
					for (const c of e.data.chats) batch.chat(s, at, c)
					break
				case 'session.created':
				case 'session.deleted':
				case 'session.command.failed':
					// The API writes the session row with session.created; failures only inform clients.
					break
			}
		}

		const version = (e: StatusEvent) => `${isoMs(e.occurredAt)} ${e.id}`
		statusEvents.sort((a, b) => (version(a) < version(b) ? -1 : 1))
		for (const e of statusEvents) {
			const at = isoMs(e.occurredAt)
			const newer: SQL = sql`(${sessions.lastEventAt} is null or (${sessions.lastEventAt}, coalesce(${sessions.lastEventId}, ${NIL_UUID}::uuid)) < (${at}::timestamptz, ${e.id}::uuid))`
			const updated = await tx
				.update(sessions)
				.set({ ...sessionPatch(e), lastEventAt: new Date(at), lastEventId: e.id, updatedAt: sql`now()` })
				.where(and(eq(sessions.id, e.sessionId), newer))
				.returning({ id: sessions.id })
			stats.sessionUpdates += updated.length
			if (!updated.length && e.type === 'session.status.connected') {
				// Status is the newest event's, but who the account is stays true: an older
				// `connected` still fills identity the row lacks.
				const fill = { jid: sql`coalesce(${sessions.jid}, ${e.data.jid})`, lid: sql`coalesce(${sessions.lid}, ${e.data.lid ?? null})`, phoneNumber: sql`coalesce(${sessions.phoneNumber}, ${e.data.phoneNumber ?? null})` }
				await tx
					.update(sessions)
					.set({ ...fill, updatedAt: sql`now()` })
					.where(and(eq(sessions.id, e.sessionId), sql`(${sessions.jid}, ${sessions.lid}, ${sessions.phoneNumber}) is distinct from (${fill.jid}, ${fill.lid}, ${fill.phoneNumber})`))
			}
		}

		// Contended rows (chats, contacts, mappings shared by many batches) go last, so their locks
		// are held for the shortest time before the commit.
		const messages = batch.messages.sorted()
		const mappings = batch.mappings.sorted()
		const contacts = batch.contacts.sorted()
		const chats = batch.chats.sorted()
		await bulk(tx, MESSAGES_SQL, messages)
		await bulk(tx, MAPPINGS_SQL, mappings)
		await bulk(tx, CONTACTS_SQL, contacts)
		await bulk(tx, CHATS_SQL, chats)
		stats.messages = messages.length
		stats.mappings = mappings.length
		stats.contacts = contacts.length
		stats.chats = chats.length
	})
	return stats
}

/**
 * Errors that are about Postgres, not about the events: the connection (SQLSTATE class 08,
 * postgres.js/socket codes), a server shutting down or out of resources (57P0x, 53xxx), and the
 * concurrency aborts a retry resolves (40001 serialization, 40P01 deadlock, 55P03 lock timeout).
 */
export function isTransientDbError(err: unknown): boolean {
	for (let e = err, depth = 0; e && depth < 5; e = (e as { cause?: unknown }).cause, depth++) {
		const code = (e as { code?: unknown }).code
		if (typeof code !== 'string') continue
		if (/^(08|53|57P0)/.test(code) || ['40001', '40P01', '55P03'].includes(code)) return true
		if (/^(CONNECTION_|CONNECT_TIMEOUT|ECONN|EPIPE|ETIMEDOUT|ENOTFOUND|EAI_AGAIN)/.test(code)) return true
	}
	return false
}
