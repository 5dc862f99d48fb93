import type { Chat, Contact, Message, MessageKey, MessageUpdate } from './catalogue'
import { editedContent } from './edited-content'
import { canonicalJid, jidForms } from './jid'
import { messageStatusRank } from './message-status'

/**
 * The projection's merge rules: how domain events become rows of sessions, chats, messages,
 * contacts and LID mappings. The rows are merged here when they meet within one batch, and by the
 * SQL of db/projection when they meet a stored row; both give the same row.
 *
 * Idempotent and order-independent, because delivery is at least once and a failed entry is
 * retried after later ones succeeded. Every column is merged with a rule that gives the same row
 * whatever the order and however often an event is applied:
 * - messages: identity and the original content are first-wins (a receipt-only row has none and
 *   the later upsert fills it); the arrival number is the first arrival's (the least); status
 *   takes the furthest along (`messageStatusRank`); an edit applies when newer than the last one
 *   applied, its text set into the original content (`editedContent`); a revoke clears text and
 *   content for good; a receipt never touches the message's timestamp.
 * - chats and contacts: a field given by an event newer than the row (`updated_at` = the newest
 *   event's `occurredAt`) replaces the stored one, an older event only fills gaps; a chat's
 *   `last_message_at` only moves forward. WhatsApp's unread count travels with the time it holds
 *   for (the chat's last message the event names, else the event's own time); the count of the
 *   later time wins (a tie goes to the newer event).
 * - sessions: status events apply only when newer than the last one applied
 *   (`last_event_at`, `last_event_id`), except that an older `connected` still fills a missing
 *   jid/lid/phone number; events of a missing session are dropped (it was deleted).
 * - sessions deleted through the API (`deleted_at` set, in the transaction that emitted
 *   `session.deleted` and `session.logout`): nothing more is applied to them. The row and its creds
 *   stay until the runner reports the logout (`logged_out`, or its refusal of the logout), since the
 *   runner needs the creds to unlink the device; the projection then deletes the creds and marks the
 *   row unlinked. A `session.deleted` of a session the API did not delete ends it at once. The
 *   chats, messages and contacts of such sessions, and at last the row, are deleted by the purge in
 *   the background, a batch per transaction.
 * - LID↔PN mappings: first-wins.
 * - what reads other tables is kept up to date by db/projection/derived.ts, inside the batch for
 *   the rows it holds and after its commit for the others: a chat's or contact's missing form (LID
 *   or phone JID) from the mappings, and a chat's unread count (WhatsApp's count plus what was
 *   received after it and is not read).
 */

const present = (s: string | undefined) => (s ? s : undefined)

/** What a message's kind carries, as one document (`kind_data`); undefined for a kind that carries nothing. */
function kindData(m: Message): Record<string, unknown> | undefined {
	const { media, location, contacts, poll } = m
	const data = { ...(media ? { media } : {}), ...(location ? { location } : {}), ...(contacts ? { contacts } : {}), ...(poll ? { poll } : {}) }
	return Object.keys(data).length ? data : undefined
}

// Rows as the projection sends them to Postgres; short keys keep the JSON document small.
export interface MessageRow {
	s: string
	c: string
	m: string
	f: boolean
	sj?: string
	sa?: string
	ts?: number
	/** Message.seq: the first arrival's is kept. */
	q?: number
	y?: string
	x?: string
	j?: unknown
	p?: string
	st?: number
	ea?: number
	ra?: string
	/** Message.kind, what the kind carries (`kind_data`), the file's id and the quoted message. */
	k?: string
	kd?: unknown
	mi?: string
	rt?: unknown
}
/** A sender's reaction (`e`, empty when taken back) to the message `m`, as of `at` (epoch seconds). */
export interface ReactionRow {
	s: string
	c: string
	m: string
	f: boolean
	sd: string
	e: string
	at: number
}
/** A voter's current choice (`o`: option hashes) in the poll `m`, as of `at`. */
export interface VoteRow {
	s: string
	c: string
	m: string
	f: boolean
	v: string
	o: string[]
	at: number
}
export interface ChatRow {
	s: string
	j: string
	pn?: string
	lid?: string
	n?: string
	/** WhatsApp's unread count, and `ua` the time (epoch seconds) it holds for. */
	u?: number
	ua?: number
	a?: boolean
	lm?: number
	v: string
}
export interface ContactRow {
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
export interface MappingRow {
	s: string
	l: string
	p: string
}

/** Two versions of one message row merged: the JS twin of the projection's SQL merge, for rows that meet within one batch. */
function mergeMessage(acc: MessageRow, row: MessageRow) {
	acc.sj ??= row.sj
	acc.sa ??= row.sa
	acc.ts ??= row.ts
	if (row.q !== undefined && (acc.q === undefined || row.q < acc.q)) acc.q = row.q
	acc.y ??= row.y
	acc.p ??= row.p
	if (messageStatusRank(row.st) > messageStatusRank(acc.st)) acc.st = row.st
	if (row.ea !== undefined && (acc.ea === undefined || row.ea > acc.ea)) {
		acc.x = row.x
		acc.ea = row.ea
	} else if (acc.ea === undefined) acc.x ??= row.x
	acc.j ??= row.j
	if (acc.ea !== undefined) acc.j = editedContent(acc.j, acc.x)
	if (row.ra !== undefined && (acc.ra === undefined || row.ra < acc.ra)) acc.ra = row.ra
	acc.k ??= row.k
	acc.kd ??= row.kd
	acc.mi ??= row.mi
	acc.rt ??= row.rt
}

/** The newest wins; at the same second the greater value, so the order of arrival never matters. */
function newest<R extends { at: number }>(value: (r: R) => string) {
	return (acc: R, row: R) => {
		if (row.at > acc.at || (row.at === acc.at && value(row) > value(acc))) Object.assign(acc, row)
	}
}

/** Newer-or-first for every versioned field (the SQL merge's `lww`). */
function mergeVersioned<R extends { v: string }>(acc: R, row: R, fields: readonly (keyof R)[]) {
	const newer = row.v > acc.v
	for (const f of fields) if (row[f] !== undefined && (newer || acc[f] === undefined)) acc[f] = row[f]
	if (newer) acc.v = row.v
}

function mergeChat(acc: ChatRow, row: ChatRow) {
	const lm = Math.max(acc.lm ?? -1, row.lm ?? -1)
	// WhatsApp's unread count as of a later time is the fresher one, whichever event brought it.
	const report = row.ua !== undefined && (acc.ua === undefined || row.ua > acc.ua || (row.ua === acc.ua && row.v > acc.v)) ? row : acc
	const [u, ua] = [report.u, report.ua]
	mergeVersioned(acc, row, ['pn', 'lid', 'n', 'a'])
	if (lm >= 0) acc.lm = lm
	if (ua !== undefined) [acc.u, acc.ua] = [u, ua]
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
export const isoMs = (iso: string) => new Date(iso).toISOString()

export class ProjectionBatch {
	readonly messages = new Rows<MessageRow>(mergeMessage)
	readonly chats = new Rows<ChatRow>(mergeChat)
	readonly contacts = new Rows<ContactRow>(mergeContact)
	readonly mappings = new Rows<MappingRow>(() => {})
	readonly reactions = new Rows<ReactionRow>(newest((r) => r.e))
	readonly votes = new Rows<VoteRow>(newest((r) => JSON.stringify(r.o)))

	mapping(s: string, lid: string | undefined, pn: string | undefined) {
		if (lid && pn) this.mappings.add(`${s}\u0000${lid}`, { s, l: lid, p: pn })
	}

	private chatOf(_s: string, key: MessageKey) {
		const jid = canonicalJid(key.remoteJid, key.remoteJidAlt)
		return { jid, ...jidForms(key.remoteJid, key.remoteJidAlt) }
	}

	private keyRow(s: string, key: MessageKey): MessageRow {
		const chat = this.chatOf(s, key)
		this.mapping(s, chat.lid, chat.pn)
		const participant = present(key.participant)
		const participantAlt = present(key.participantAlt)
		let sj: string | undefined
		let sa: string | undefined
		if (participant) {
			sj = canonicalJid(participant, participantAlt)
			sa = sj === participant ? participantAlt : participant
			const p = jidForms(participant, participantAlt)
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
		row.q = m.seq
		row.y = m.type
		row.x = m.text
		row.j = m.content
		row.p = m.pushName
		row.st = m.status
		row.k = m.kind
		row.kd = kindData(m)
		row.mi = m.media?.id
		row.rt = m.replyTo
		this.messages.add(this.messageKey(row), row)
		const chat = this.chatOf(s, m.key)
		this.chats.add(`${s}\u0000${chat.jid}`, { s, j: chat.jid, pn: chat.pn, lid: chat.lid, lm: m.timestamp, v: occurredAt })
	}

	update(s: string, occurredAt: string, u: MessageUpdate) {
		const row = this.keyRow(s, u.key)
		const target = { s, c: row.c, m: row.m, f: row.f }
		if (u.reaction) {
			const { sender, emoji, at } = u.reaction
			this.reactions.add(`${this.messageKey(row)}\u0000${sender}`, { ...target, sd: sender, e: emoji, at })
		}
		if (u.pollVote) {
			const { voter, options, at } = u.pollVote
			this.votes.add(`${this.messageKey(row)}\u0000${voter}`, { ...target, v: voter, o: [...options].sort(), at })
		}
		// A reaction or a vote is about the message, not a change of it: no row for it alone.
		if (u.status === undefined && !u.edit && !u.revoked) return
		// Identity of a message comes from its upsert; a receipt knows only the key.
		row.sj = row.sa = undefined
		row.st = u.status
		// An edit brings the new text alone: its content is partial (a caption edit names no file),
		// and the message keeps its type and the rest of its content (core/edited-content.ts).
		if (u.edit) {
			row.ea = u.edit.editedAt
			row.x = u.edit.text
		}
		if (u.revoked) row.ra = occurredAt
		this.messages.add(this.messageKey(row), row)
	}

	chat(s: string, occurredAt: string, c: Chat) {
		const { pn, lid } = jidForms(c.jid, c.pn, c.lid)
		this.mapping(s, lid, pn)
		const j = pn ?? c.jid
		const row: ChatRow = { s, j, pn, lid, n: c.name, a: c.archived, lm: c.lastMessageAt, v: occurredAt }
		if (c.unreadCount !== undefined) {
			row.u = c.unreadCount
			row.ua = c.lastMessageAt ?? Math.floor(Date.parse(occurredAt) / 1000)
		}
		this.chats.add(`${s}\u0000${j}`, row)
	}

	contact(s: string, occurredAt: string, c: Contact) {
		const { pn, lid } = jidForms(c.jid, c.pn, c.lid)
		this.mapping(s, lid, pn)
		const j = pn ?? c.jid
		this.contacts.add(`${s}\u0000${j}`, { s, j, pn, lid, n: c.name, no: c.notify, vn: c.verifiedName, im: c.imgUrl, v: occurredAt })
	}
}
