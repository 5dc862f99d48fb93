import { and, desc, eq, isNotNull, isNull, lt, or, sql, type SQL } from 'drizzle-orm'
import { schema, type Db } from '../../db/client'
import { cursorBoolean, cursorString, cursorTime, type CursorCodec } from '../../lib/cursor'
import { AppError, notFound } from '../../lib/errors'
import { isPnJid, normalizeRecipient } from '../../lib/jid'
import type { MessageAccepted, Page, SessionsService } from '../sessions/service'
import { MESSAGE_STATUS_NAMES } from './model'

const { sessionChats: chats, sessionMessages: messages } = schema

export interface PublicChat {
	jid: string
	pnJid: string | null
	lidJid: string | null
	name: string | null
	unreadCount: number | null
	archived: boolean | null
	lastMessageAt: string | null
}

export interface PublicMessage {
	id: string
	chatJid: string
	fromMe: boolean
	sender: string | null
	pushName: string | null
	timestamp: string
	type: string | null
	text: string | null
	status: (typeof MESSAGE_STATUS_NAMES)[number] | null
	editedAt: string | null
	revoked: boolean
	content: Record<string, unknown> | null
}

interface ListOptions {
	sessionId?: string
	limit?: number
	cursor?: string
}

export const invalidJid = () =>
	new AppError(400, 'INVALID_JID', 'Not a chat: use a JID (…@s.whatsapp.net, …@lid, …@g.us) or a phone number with its country code')

/** Types whose whole content the response models (`text`); the raw proto is sent for every other one. */
const MODELLED_TYPES = ['conversation', 'extendedTextMessage']

const chatColumns = {
	jid: chats.jid,
	pnJid: chats.pnJid,
	lidJid: chats.lidJid,
	name: chats.name,
	unreadCount: chats.unreadCount,
	archived: chats.archived,
	lastMessageAt: chats.lastMessageAt,
}

// Only the columns a response shows, and the raw content only where `text` does not say it all:
// parsing and serialising jsonb dominates the cost of a page otherwise.
const messageColumns = {
	id: messages.messageId,
	fromMe: messages.fromMe,
	sender: messages.senderJid,
	pushName: messages.pushName,
	timestamp: messages.timestamp,
	type: messages.type,
	text: messages.text,
	status: messages.status,
	editedAt: messages.editedAt,
	revokedAt: messages.revokedAt,
	content: sql`case when ${messages.type} in (${sql.join(MODELLED_TYPES.map((t) => sql`${t}`), sql`, `)}) then null else ${messages.content} end`.mapWith(messages.content),
}
type MessageRow = Awaited<ReturnType<ChatsService['messagesOf']>>[number]

const iso = (d: Date | null) => (d ? d.toISOString() : null)

/** Newest first, then by id and fromMe: the total order of the messages index. */
function newerFirst(a: MessageRow, b: MessageRow): number {
	const t = b.timestamp!.getTime() - a.timestamp!.getTime()
	if (t) return t
	if (a.id !== b.id) return a.id < b.id ? 1 : -1
	return a.fromMe === b.fromMe ? 0 : a.fromMe ? -1 : 1
}

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
 * Every list is keyset-paginated along an index in one direction (DESIGN §4), so each page is an
 * index range scan however deep it is; cursors carry the last row's sort key.
 */
export class ChatsService {
	constructor(private readonly deps: ChatsServiceDeps) {}

	/** Chats by last activity, newest first; chats without any activity come last. */
	async listChats(tenantId: string, { sessionId, limit = 50, cursor }: ListOptions): Promise<Page<PublicChat>> {
		const sid = await this.deps.sessions.resolveId(tenantId, sessionId)
		const scope = `chats:${sid}`
		let after: { at: Date | null; jid: string } | undefined
		if (cursor) {
			const [at, jid] = this.deps.cursors.decode(scope, cursor)
			after = { at: at === null ? null : cursorTime(at), jid: cursorString(jid) }
		}
		// A LID-only chat whose phone-number chat exists (the mapping was learnt later) is the same
		// conversation: the phone-number chat stands for both.
		const notShadowed = sql`(${chats.jid} not like '%@lid' or not exists (select 1 from session_chats o where o.session_id = ${chats.sessionId} and o.lid_jid = ${chats.jid} and o.jid <> ${chats.jid}))`
		const page = (where: SQL | undefined, take: number) =>
			this.deps.db
				.select(chatColumns)
				.from(chats)
				.where(and(eq(chats.sessionId, sid), where, notShadowed))
				.orderBy(sql`${chats.lastMessageAt} desc nulls last`, desc(chats.jid))
				.limit(take)

		// Two ranges of the index: chats with activity, then those without (NULLS LAST); the second
		// is only read on the page where the first runs out.
		let rows: Awaited<ReturnType<typeof page>> = []
		if (!after || after.at) {
			const since = after?.at ? sql`(${chats.lastMessageAt}, ${chats.jid}) < (${after.at.toISOString()}::timestamptz, ${after.jid})` : undefined
			rows = await page(and(isNotNull(chats.lastMessageAt), since), limit + 1)
		}
		if (rows.length <= limit) {
			const since = after && !after.at ? lt(chats.jid, after.jid) : undefined
			rows = rows.concat(await page(and(isNull(chats.lastMessageAt), since), limit + 1 - rows.length))
		}
		const items = rows.slice(0, limit).map((r) => ({ ...r, lastMessageAt: iso(r.lastMessageAt) }))
		const last = items.at(-1)
		return { items, nextCursor: rows.length > limit && last ? this.deps.cursors.encode(scope, [last.lastMessageAt, last.jid]) : null }
	}

	/** Messages of one chat (either JID of a person), newest first. */
	async listMessages(tenantId: string, jidInput: string, { sessionId, limit = 50, cursor }: ListOptions): Promise<Page<PublicMessage>> {
		const jid = normalizeRecipient(jidInput)
		if (!jid) throw invalidJid()
		const sid = await this.deps.sessions.resolveId(tenantId, sessionId)
		const chat = await this.resolveChat(sid, jid)
		const scope = `messages:${sid}:${chat.jid}`
		let after: { at: Date; id: string; fromMe: boolean } | undefined
		if (cursor) {
			const [at, id, fromMe] = this.deps.cursors.decode(scope, cursor)
			after = { at: cursorTime(at), id: cursorString(id), fromMe: cursorBoolean(fromMe) }
		}
		// One index range per JID the chat was filed under (nearly always one), merged here.
		const parts = await Promise.all(chat.filedUnder.map((chatJid) => this.messagesOf(sid, chatJid, after, limit + 1)))
		const rows = parts.length === 1 ? parts[0]! : parts.flat().sort(newerFirst).slice(0, limit + 1)
		const items = rows.slice(0, limit).map((r): PublicMessage => ({
			id: r.id,
			chatJid: chat.jid,
			fromMe: r.fromMe,
			sender: r.sender,
			pushName: r.pushName,
			timestamp: r.timestamp!.toISOString(),
			type: r.type,
			text: r.text,
			status: r.status === null ? null : (MESSAGE_STATUS_NAMES[r.status] ?? null),
			editedAt: iso(r.editedAt),
			revoked: r.revokedAt !== null,
			content: (r.content as Record<string, unknown> | null) ?? null,
		}))
		const last = rows.length > limit ? rows[limit - 1] : undefined
		return { items, nextCursor: last ? this.deps.cursors.encode(scope, [last.timestamp!.toISOString(), last.id, last.fromMe]) : null }
	}

	/** Sends text to a chat; the JID is checked here so a bad path segment is a 400 INVALID_JID. */
	async send(tenantId: string, jidInput: string, text: string, sessionId?: string, idempotencyKey?: string): Promise<MessageAccepted> {
		const jid = normalizeRecipient(jidInput)
		if (!jid) throw invalidJid()
		const sid = await this.deps.sessions.resolveId(tenantId, sessionId)
		return this.deps.sessions.sendText(tenantId, sid, { to: jid, text }, idempotencyKey)
	}

	private messagesOf(sessionId: string, chatJid: string, after: { at: Date; id: string; fromMe: boolean } | undefined, take: number) {
		const since = after
			? sql`(${messages.timestamp}, ${messages.messageId}, ${messages.fromMe}) < (${after.at.toISOString()}::timestamptz, ${after.id}, ${after.fromMe})`
			: undefined
		return (
			this.deps.db
				.select(messageColumns)
				.from(messages)
				// A row without a timestamp is a receipt whose message has not arrived: not a message yet.
				.where(and(eq(messages.sessionId, sessionId), eq(messages.chatJid, chatJid), isNotNull(messages.timestamp), since))
				.orderBy(sql`${messages.timestamp} desc nulls last`, desc(messages.messageId), desc(messages.fromMe))
				.limit(take)
		)
	}

	/**
	 * The chat a JID names: the chat rows filed under it or under its other form (a chat's own
	 * pn/lid columns, or the session's LID↔PN mappings). 404 when the session has no such chat.
	 */
	private async resolveChat(sessionId: string, jid: string): Promise<{ jid: string; filedUnder: string[] }> {
		const mapped = sql`(select pn from session_lid_mappings where session_id = ${sessionId} and lid = ${jid}
			union all select lid from session_lid_mappings where session_id = ${sessionId} and pn = ${jid})`
		const rows = await this.deps.db
			.select({ jid: chats.jid, pnJid: chats.pnJid })
			.from(chats)
			.where(
				and(
					eq(chats.sessionId, sessionId),
					or(eq(chats.jid, jid), eq(chats.pnJid, jid), eq(chats.lidJid, jid), sql`${chats.jid} in ${mapped}`),
				),
			)
			.limit(8)
		if (!rows.length) throw notFound('Chat')
		const pn = rows.map((r) => (isPnJid(r.jid) ? r.jid : r.pnJid)).find((j) => j)
		return { jid: pn ?? rows[0]!.jid, filedUnder: [...new Set(rows.map((r) => r.jid))] }
	}
}
