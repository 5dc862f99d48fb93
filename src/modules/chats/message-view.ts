import { createHash } from 'node:crypto'
import { sql } from 'drizzle-orm'
import type { MediaRef, MessageKind } from '../../core/catalogue'
import type { MediaState } from '../../core/media'
import { messageStatusName } from '../../core/message-status'
import { schema } from '../../db/client'
import { isoTime } from '../../lib/keyset'
import type { Message } from './model'

const { sessionMessages: messages } = schema

/** Types whose whole content the response models (`text`); the raw proto is sent for every other one. */
const MODELLED_TYPES = ['conversation', 'extendedTextMessage']

/**
 * A column of the page's message row, for the subqueries below. Named with its table: drizzle writes
 * a column bare in a select list, and there a subquery's own column of that name wins
 * (`m.session_id = "session_id"` compares the mapping with itself, and reads every session's).
 */
const row = (column: string) => sql.raw(`session_messages.${column}`)

const sameMessage = (table: string) =>
	sql.raw(
		`${table}.session_id = session_messages.session_id and ${table}.chat_jid = session_messages.chat_jid and ${table}.message_id = session_messages.message_id and ${table}.from_me = session_messages.from_me`,
	)

/**
 * The columns a message of a page shows. The raw content only where `text` does not say it all
 * (parsing and serialising jsonb dominates the cost of a page otherwise); the file's state, the
 * reactions and the votes by their primary keys, one lookup each, only where there are any.
 */
export const messageColumns = {
	id: messages.messageId,
	fromMe: messages.fromMe,
	sender: messages.senderJid,
	// The sender's other form: as WhatsApp gave it with the message, else from the session's
	// mappings (a LID group member whose number showed later), looked up only where it is missing.
	senderAlt: sql`coalesce(${messages.senderAltJid}, case
		when ${messages.senderJid} like '%@lid' then (select min(m.pn) from session_lid_mappings m where m.session_id = ${row('session_id')} and m.lid = ${row('sender_jid')})
		when ${messages.senderJid} like '%@s.whatsapp.net' then (select min(m.lid) from session_lid_mappings m where m.session_id = ${row('session_id')} and m.pn = ${row('sender_jid')}) end)`.as(
		'sender_alt',
	),
	pushName: messages.pushName,
	timestamp: messages.timestamp,
	seq: messages.seq,
	type: messages.type,
	text: messages.text,
	status: messages.status,
	editedAt: messages.editedAt,
	revokedAt: messages.revokedAt,
	kind: messages.kind,
	kindData: messages.kindData,
	replyTo: messages.replyTo,
	content: sql`case when ${messages.type} in (${sql.join(
		MODELLED_TYPES.map((t) => sql`${t}`),
		sql`, `,
	)}) then null else ${messages.content} end`.as('content'),
	mediaState: sql`case when ${messages.mediaId} is not null then (select m.state from media m where m.id = ${row('media_id')}) end`.as('media_state'),
	// What was stored: the size the message announced may be missing (WhatsApp leaves out a 0).
	mediaSize: sql<
		number | null
	>`case when ${messages.mediaId} is not null then (select m.size from media m where m.id = ${row('media_id')} and m.state = 'stored') end`.as(
		'media_size',
	),
	reactions: sql`(select json_agg(json_build_object('sender', r.sender, 'emoji', r.emoji, 'at', r.at) order by r.at)
		from session_message_reactions r where ${sameMessage('r')} and r.emoji <> '')`.as('reactions'),
	votes:
		sql`case when ${messages.kind} = 'poll' then (select json_agg(json_build_object('voter', v.voter, 'options', v.options, 'at', v.at) order by v.at)
		from session_poll_votes v where ${sameMessage('v')}) end`.as('votes'),
}

/** A message row as Postgres returns it (see `rawRows`): column names, timestamps as text. */
export interface MessageRow {
	message_id: string
	from_me: boolean
	sender_jid: string | null
	sender_alt: string | null
	push_name: string | null
	timestamp: string
	/** int8: text from postgres.js, a bigint or number from PGlite. */
	seq: string | number | bigint
	type: string | null
	text: string | null
	status: number | null
	edited_at: string | null
	revoked_at: string | null
	kind: MessageKind | null
	kind_data: { media?: MediaRef; location?: Message['location']; contacts?: Message['contacts']; poll?: StoredPoll } | null
	reply_to: Message['replyTo']
	content: Record<string, unknown> | null
	media_state: MediaState | null
	media_size: number | string | null
	reactions: Array<{ sender: string; emoji: string; at: string }> | null
	votes: Array<{ voter: string; options: string[]; at: string }> | null
}

interface StoredPoll {
	question: string
	options: string[]
	selectableCount: number
}

/** A poll option's name as WhatsApp's votes name it: the SHA-256 of the name, hex. */
const optionHash = (name: string) => createHash('sha256').update(name).digest('hex')

/** The poll with its tally: how many voters picked each option, and who picked what. */
function tallied(poll: StoredPoll, votes: MessageRow['votes']): NonNullable<Message['poll']> {
	const hashes = poll.options.map(optionHash)
	// Each voter's picks in the poll's own order of options.
	const current = (votes ?? []).map((v) => ({
		voter: v.voter,
		options: poll.options.filter((_, i) => v.options.includes(hashes[i]!)),
		at: isoTime(v.at)!,
	}))
	return {
		question: poll.question,
		options: poll.options.map((name) => ({ name, votes: current.filter((v) => v.options.includes(name)).length })),
		selectableCount: poll.selectableCount,
		votes: current,
	}
}

/** A row's kind: messages stored before kinds were modelled are text when their type is, else `other`. */
export const kindOf = (r: { kind: MessageKind | null; type: string | null }): MessageKind =>
	r.kind ?? (r.type && MODELLED_TYPES.includes(r.type) ? 'text' : 'other')

/** The sender as one JID: the phone-number JID when known, else the LID. */
function senderOf(r: MessageRow): string | null {
	if (r.sender_jid?.endsWith('@lid') && r.sender_alt?.endsWith('@s.whatsapp.net')) return r.sender_alt
	return r.sender_jid
}

/** A stored message as the API shows it. */
export function toMessage(r: MessageRow, chatJid: string): Message {
	const data = r.kind_data ?? {}
	return {
		id: r.message_id,
		chatJid,
		fromMe: r.from_me,
		sender: senderOf(r),
		senderPn: [r.sender_jid, r.sender_alt].find((j) => j?.endsWith('@s.whatsapp.net')) ?? null,
		senderLid: [r.sender_jid, r.sender_alt].find((j) => j?.endsWith('@lid')) ?? null,
		pushName: r.push_name,
		timestamp: isoTime(r.timestamp)!,
		seq: Number(r.seq),
		type: r.type,
		text: r.text,
		status: messageStatusName(r.status),
		editedAt: isoTime(r.edited_at),
		revoked: r.revoked_at !== null,
		kind: kindOf(r),
		// A file the runner has no row for (any more) is as good as never downloaded.
		media: data.media ? { ...data.media, state: r.media_state ?? 'pending', ...(r.media_size === null ? {} : { size: Number(r.media_size) }) } : null,
		location: data.location ?? null,
		contacts: data.contacts ?? null,
		poll: data.poll ? tallied(data.poll, r.votes) : null,
		replyTo: r.reply_to ?? null,
		reactions: (r.reactions ?? []).map((x) => ({ sender: x.sender, emoji: x.emoji, at: isoTime(x.at)! })),
		content: r.content,
	}
}
