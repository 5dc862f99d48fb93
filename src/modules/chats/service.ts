import { and, desc, eq, isNotNull, isNull, lt, or, sql, type SQL } from 'drizzle-orm'
import { unionAll } from 'drizzle-orm/pg-core'
import { schema, type Db } from '../../db/client'
import { cursorBoolean, cursorDecimal, cursorString, cursorTime, type CursorCodec } from '../../lib/cursor'
import { fetchSize, isoTime, literalLimit, perSize, rawRows, type Page } from '../../lib/keyset'
import { InvalidInputError, NotFoundError } from '../../core/errors'
import { isPnJid, normalizeRecipient } from '../../core/jid'
import { jidFormsOf } from '../../db/jid-forms'
import type { SessionsService } from '../sessions/service'
import { type LastMessageRow, lastMessageColumn, toLastMessage } from './last-message'
import { type MessageRow, messageColumns, toMessage } from './message-view'
import type { Chat, Message } from './model'

const { sessionChats: chats, sessionMessages: messages } = schema

/** A keyset position in a chat: the last message of the previous page (time as Postgres text, seq as decimal text). */
interface Position {
	at: string
	seq: string
	id: string
	fromMe: boolean
}

interface ListOptions {
	sessionId?: string
	limit?: number
	cursor?: string
}

const invalidJid = () =>
	new InvalidInputError('INVALID_JID', 'Not a chat: use a JID (…@s.whatsapp.net, …@lid, …@g.us) or a phone number with its country code')

/** A contact's name (address book, else push name, else business name) under one JID of the chat: one primary-key probe. */
const contactNameUnder = (column: string) =>
	`(select coalesce(k.name, k.notify, k.verified_name) from session_contacts k where k.session_id = "session_chats"."session_id" and k.jid = ${column})`

/**
 * What a person sees the chat as: WhatsApp's name for it, else a group's subject, else the
 * contact's name under the chat's JID or its LID; each probed only when what comes before it is
 * null. The chat's columns are named with their table: drizzle writes them bare in a select list,
 * where the subqueries' own columns would win.
 */
const displayNameColumn = sql<string | null>`coalesce("session_chats"."name",
	case when "session_chats"."jid" like '%@g.us' then
		(select g.subject from session_groups g where g.session_id = "session_chats"."session_id" and g.jid = "session_chats"."jid") end,
	${sql.raw(contactNameUnder('"session_chats"."jid"'))},
	${sql.raw(contactNameUnder('"session_chats"."lid_jid"'))})`.as('display_name')

const chatColumns = {
	jid: chats.jid,
	pnJid: chats.pnJid,
	lidJid: chats.lidJid,
	name: chats.name,
	displayName: displayNameColumn,
	unreadCount: chats.unreadCount,
	archived: chats.archived,
	lastMessageAt: chats.lastMessageAt,
	lastMessage: lastMessageColumn,
}

/** Rows as Postgres returns them (see `rawRows`): column names, timestamps as text. */
interface ChatRow {
	jid: string
	pn_jid: string | null
	lid_jid: string | null
	name: string | null
	display_name: string | null
	unread_count: number | null
	archived: boolean | null
	last_message_at: string | null
	last_message: LastMessageRow | null
}
const p = sql.placeholder

const toChat = (r: ChatRow): Chat => ({
	jid: r.jid,
	pnJid: r.pn_jid,
	lidJid: r.lid_jid,
	name: r.name,
	displayName: r.display_name,
	unreadCount: r.unread_count,
	archived: r.archived,
	lastMessageAt: isoTime(r.last_message_at),
	lastMessage: toLastMessage(r.last_message),
})

export interface ChatsServiceDeps {
	db: Db
	cursors: CursorCodec
	sessions: SessionsService
}

/**
 * Chats and their messages as the consumer stored them. A person may be known by a phone-number
 * JID and by a LID; the consumer files chats under the phone JID whenever an event told it both,
 * and these reads resolve either form (and the LID↔PN mappings) to the same chat.
 *
 * Every list is keyset-paginated along an index in one direction, so each page is an
 * index range scan however deep it is; cursors carry the last row's sort key.
 */
export class ChatsService {
	private readonly reads

	constructor(private readonly deps: ChatsServiceDeps) {
		// Prepared once (see SessionsService): one statement per shape of page.
		const { db } = deps
		// A LID-only chat whose phone-number chat exists (the mapping was learnt later) is the same
		// conversation: the phone-number chat stands for both.
		const notShadowed = sql`(${chats.jid} not like '%@lid' or not exists (select 1 from session_chats o where o.session_id = ${chats.sessionId} and o.lid_jid = ${chats.jid} and o.jid <> ${chats.jid}))`
		const chatPage = (name: string, where: SQL) =>
			perSize((size) =>
				db
					.select(chatColumns)
					.from(chats)
					.where(and(eq(chats.sessionId, p('sid')), where, notShadowed))
					.orderBy(sql`${chats.lastMessageAt} desc nulls last`, desc(chats.jid))
					.limit(literalLimit(size))
					.prepare(`${name}_${size}`),
			)
		const messagePage = (size: number, after: boolean, chat = 'chat') =>
			db
				.select(messageColumns)
				.from(messages)
				// A row without a timestamp is a receipt whose message has not arrived: not a message yet.
				.where(
					and(
						eq(messages.sessionId, p('sid')),
						eq(messages.chatJid, p(chat)),
						isNotNull(messages.timestamp),
						after
							? sql`(${messages.timestamp}, ${messages.seq}, ${messages.messageId}, ${messages.fromMe}) < (${p('at')}::timestamptz, ${p('seq')}::int8, ${p('id')}, ${p('fromMe')}::boolean)`
							: undefined,
					),
				)
				// Within a second, in the order the messages arrived (seq), then by id for those without one.
				.orderBy(sql`${messages.timestamp} desc nulls last`, desc(messages.seq), desc(messages.messageId), desc(messages.fromMe))
				.limit(literalLimit(size))
		// A person filed under both JIDs: Postgres merges the two index ranges (Merge Append), in
		// its own collation, the one the keyset compares with.
		const bothForms = (size: number, after: boolean) =>
			unionAll(messagePage(size, after), messagePage(size, after, 'chat2'))
				.orderBy(sql`"timestamp" desc nulls last`, sql`"seq" desc`, sql`"message_id" desc`, sql`"from_me" desc`)
				.limit(literalLimit(size))
		this.reads = {
			// Two ranges of the index: chats with activity, then those without (NULLS LAST).
			active: chatPage('chats_active', isNotNull(chats.lastMessageAt)),
			activeAfter: chatPage(
				'chats_active_after',
				and(isNotNull(chats.lastMessageAt), sql`(${chats.lastMessageAt}, ${chats.jid}) < (${p('at')}::timestamptz, ${p('jid')})`)!,
			),
			idle: chatPage('chats_idle', isNull(chats.lastMessageAt)),
			idleAfter: chatPage('chats_idle_after', and(isNull(chats.lastMessageAt), lt(chats.jid, p('jid')))!),
			one: db
				.select(chatColumns)
				.from(chats)
				.where(and(eq(chats.sessionId, p('sid')), eq(chats.jid, p('jid'))))
				.prepare('chat_one'),
			messages: perSize((size) => messagePage(size, false).prepare(`chat_messages_${size}`)),
			messagesAfter: perSize((size) => messagePage(size, true).prepare(`chat_messages_after_${size}`)),
			messages2: perSize((size) => bothForms(size, false).prepare(`chat_messages_2_${size}`)),
			messages2After: perSize((size) => bothForms(size, true).prepare(`chat_messages_2_after_${size}`)),
			chat: db
				.select({ jid: chats.jid, pnJid: chats.pnJid })
				.from(chats)
				.where(
					and(
						eq(chats.sessionId, p('sid')),
						or(sql`${chats.jid} = any(${jidFormsOf})`, sql`${chats.pnJid} = any(${jidFormsOf})`, sql`${chats.lidJid} = any(${jidFormsOf})`),
					),
				)
				.limit(literalLimit(8))
				.prepare('chat_forms'),
		}
	}

	/** Chats by last activity, newest first; chats without any activity come last. */
	async listChats(tenantId: string, { sessionId, limit = 50, cursor }: ListOptions): Promise<Page<Chat>> {
		const sid = await this.deps.sessions.resolveId(tenantId, sessionId)
		const scope = `chats:${sid}`
		let after: { at: string | null; jid: string } | undefined
		if (cursor) {
			const [at, jid] = this.deps.cursors.decode(scope, cursor)
			after = { at: at === null ? null : cursorTime(at), jid: cursorString(jid) }
		}
		// The idle range is only read on the page where the active one runs out.
		const size = fetchSize(limit + 1)
		let rows: ChatRow[] = []
		if (!after) rows = await rawRows<ChatRow>(this.reads.active(size), { sid })
		else if (after.at) rows = await rawRows<ChatRow>(this.reads.activeAfter(size), { sid, at: after.at, jid: after.jid })
		if (rows.length <= limit) {
			const rest = fetchSize(limit + 1 - rows.length)
			const idle =
				after && !after.at ? rawRows<ChatRow>(this.reads.idleAfter(rest), { sid, jid: after.jid }) : rawRows<ChatRow>(this.reads.idle(rest), { sid })
			rows = rows.concat(await idle)
		}
		const items = rows.slice(0, limit).map(toChat)
		// The cursor keeps Postgres' own text of the time, so no precision is lost on the way back.
		const last = rows.length > limit ? rows[limit - 1] : undefined
		return { items, nextCursor: last ? this.deps.cursors.encode(scope, [last.last_message_at, last.jid]) : null }
	}

	/** One chat, named by either JID of a person or a phone number: as the list shows it. */
	async getChat(tenantId: string, jidInput: string, { sessionId }: Pick<ListOptions, 'sessionId'>): Promise<Chat> {
		const { sessionId: sid, filedUnder } = await this.chatOf(tenantId, jidInput, sessionId)
		// The row the list shows: the phone-number one when the person has two (see notShadowed).
		const [row] = await rawRows<ChatRow>(this.reads.one, { sid, jid: filedUnder[0] })
		if (!row) throw NotFoundError.of('Chat')
		return toChat(row)
	}

	/** Messages of one chat (either JID of a person), newest first. */
	async listMessages(tenantId: string, jidInput: string, { sessionId, limit = 50, cursor }: ListOptions): Promise<Page<Message>> {
		const { sessionId: sid, ...chat } = await this.chatOf(tenantId, jidInput, sessionId)
		const scope = `messages:${sid}:${chat.jid}`
		let after: Position | undefined
		if (cursor) {
			const [at, seq, id, fromMe] = this.deps.cursors.decode(scope, cursor)
			after = { at: cursorTime(at), seq: cursorDecimal(seq), id: cursorString(id), fromMe: cursorBoolean(fromMe) }
		}
		const rows = await this.messagesOf(sid, chat.filedUnder, after, fetchSize(limit + 1))
		const items = rows.slice(0, limit).map((r) => toMessage(r, chat.jid))
		const last = rows.length > limit ? rows[limit - 1] : undefined
		return { items, nextCursor: last ? this.deps.cursors.encode(scope, [last.timestamp, String(last.seq), last.message_id, last.from_me]) : null }
	}

	private messagesOf(sid: string, filedUnder: string[], after: Position | undefined, size: number): Promise<MessageRow[]> {
		const [chat, chat2] = filedUnder as [string, string | undefined]
		if (chat2)
			return after
				? rawRows(this.reads.messages2After(size), { sid, chat, chat2, ...after })
				: rawRows(this.reads.messages2(size), { sid, chat, chat2 })
		return after ? rawRows(this.reads.messagesAfter(size), { sid, chat, ...after }) : rawRows(this.reads.messages(size), { sid, chat })
	}

	/** The chat a path names (either JID of a person, or a phone number) in the session a query names. */
	async chatOf(tenantId: string, jidInput: string, sessionId: string | undefined): Promise<{ sessionId: string; jid: string; filedUnder: string[] }> {
		const jid = normalizeRecipient(jidInput)
		if (!jid) throw invalidJid()
		const sid = await this.deps.sessions.resolveId(tenantId, sessionId)
		return { sessionId: sid, ...(await this.resolveChat(sid, jid)) }
	}

	/**
	 * The chat a JID names: the chat rows filed under it or under its other form (a chat's own
	 * pn/lid columns, or the session's LID↔PN mappings). 404 when the session has no such chat.
	 */
	private async resolveChat(sessionId: string, jid: string): Promise<{ jid: string; filedUnder: string[] }> {
		const rows = await rawRows<{ jid: string; pn_jid: string | null }>(this.reads.chat, { sid: sessionId, jid })
		if (!rows.length) throw NotFoundError.of('Chat')
		const pn = rows.map((r) => (isPnJid(r.jid) ? r.jid : r.pn_jid)).find((j) => j)
		// At most two rows by construction (chats are keyed by JID; a person has one phone JID and one LID).
		const filedUnder = [...new Set(rows.map((r) => r.jid))].sort((a, b) => Number(isPnJid(b)) - Number(isPnJid(a))).slice(0, 2)
		return { jid: pn ?? rows[0]!.jid, filedUnder }
	}
}
