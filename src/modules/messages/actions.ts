import { and, desc, eq, inArray, isNull, lt, or, sql } from 'drizzle-orm'
import { enqueue, type Relay } from '../../bus'
import { command, type MessageKey, READ_MAX } from '../../core/catalogue'
import { ConflictError, InvalidInputError, NotFoundError } from '../../core/errors'
import { isGroupJid } from '../../core/jid'
import { newOutgoingMessageId } from '../../core/message-id'
import { MessageStatusCode } from '../../core/message-status'
import type { Db, Tx } from '../../db/client'
import { media, sendRequests, sessionMessages } from '../../db/schema'
import type { Clock } from '../../lib/clock'
import type { ChatsService } from '../chats/service'
import type { MessageAccepted, ReadAccepted } from './model'
import { assertConnected, sessionStatus } from '../sessions/state'

/** WhatsApp accepts an edit of a message this long after it was sent, and refuses later ones. */
export const EDIT_WINDOW_MS = 15 * 60 * 1000
/** And a delete for everyone this long after (about two and a half days). */
export const DELETE_WINDOW_MS = 60 * 60 * 60 * 1000
/**
 * A delete repeated this soon after the last one sent (a client retrying a request that timed out)
 * sends nothing: that one is on its way, and the message reads revoked once WhatsApp has it. Past
 * it, a message still not revoked is one whose delete failed, and a repeat sends it again.
 */
export const REPEATED_DELETE_WINDOW_MS = 60_000
/** The note of a delete on its way, among send requests: a space, which no client key holds. */
const deleteNote = (messageId: string) => `delete ${messageId}`

/** The kinds of message whose text can be edited. */
const EDITABLE_TYPES = ['conversation', 'extendedTextMessage']

export interface MessageActionsDeps {
	db: Db
	relay?: Relay | null
	clock: Clock
	/** Which chat (and session) a path names. */
	chats: Pick<ChatsService, 'chatOf'>
}

type Chat = Awaited<ReturnType<ChatsService['chatOf']>>

/**
 * What a client does to messages already in a chat: edit and delete its own, delete any from
 * Switchboard's store, and mark received ones read. What WhatsApp would refuse (another's message,
 * a closed window) is refused here, with the reason, before anything goes out.
 */
export class MessageActions {
	constructor(private readonly deps: MessageActionsDeps) {}

	/** PATCH /chats/:jid/messages/:messageId: new text for an own text message. */
	async edit(tenantId: string, jid: string, messageId: string, sessionId: string | undefined, text: string): Promise<MessageAccepted> {
		// As for a send: WhatsApp shows a blank text as nothing at all.
		if (!text.trim()) throw new InvalidInputError('INVALID_TEXT', 'text must not be empty or only whitespace')
		return this.changeOwn(tenantId, jid, messageId, sessionId, (message, key) => {
			if (message.revokedAt) throw new ConflictError('MESSAGE_DELETED', 'The message was deleted for everyone; there is nothing to edit')
			if (!message.type || !EDITABLE_TYPES.includes(message.type))
				throw new ConflictError('MESSAGE_NOT_EDITABLE', `Only text messages can be edited; this one is ${message.type ?? 'of an unknown type'}`)
			this.within(message.timestamp, EDIT_WINDOW_MS, 'EDIT_WINDOW_CLOSED', 'edited', '15 minutes')
			return { edit: { key, text } }
		})
	}

	/** DELETE /chats/:jid/messages/:messageId: deletes an own message for everyone. */
	deleteForEveryone(tenantId: string, jid: string, messageId: string, sessionId: string | undefined): Promise<MessageAccepted> {
		return this.changeOwn(
			tenantId,
			jid,
			messageId,
			sessionId,
			(message, key) => {
				// Deleting a deleted message again changes nothing: the DELETE still succeeds.
				if (message.revokedAt) return null
				this.within(message.timestamp, DELETE_WINDOW_MS, 'DELETE_WINDOW_CLOSED', 'deleted for everyone', '60 hours')
				return { delete: { key } }
			},
			(tx, chatJid, sid) => this.firstDeleteInAWhile(tx, sid, chatJid, messageId),
		)
	}

	/**
	 * DELETE /chats/:jid/messages/:messageId?for=me: removes the message (and its file's record)
	 * from Switchboard's store only; WhatsApp and the phone keep it.
	 */
	async deleteForMe(tenantId: string, jid: string, messageId: string, sessionId: string | undefined): Promise<void> {
		const chat = await this.deps.chats.chatOf(tenantId, jid, sessionId)
		await this.deps.db.transaction(async (tx) => {
			const message = await this.find(tx, chat, messageId)
			await tx
				.delete(media)
				.where(
					and(eq(media.sessionId, chat.sessionId), eq(media.messageId, messageId), eq(media.fromMe, message.fromMe), eq(media.tenantId, tenantId)),
				)
			await tx
				.delete(sessionMessages)
				.where(
					and(
						eq(sessionMessages.sessionId, chat.sessionId),
						eq(sessionMessages.chatJid, message.chatJid),
						eq(sessionMessages.messageId, messageId),
						eq(sessionMessages.fromMe, message.fromMe),
					),
				)
		})
	}

	/**
	 * POST /chats/:jid/read: marks the received messages of the chat read, up to `messageId` (the
	 * newest by default), at most READ_MAX of the latest; read receipts go to their senders.
	 */
	async markRead(tenantId: string, jid: string, sessionId: string | undefined, upTo?: string): Promise<ReadAccepted> {
		const chat = await this.deps.chats.chatOf(tenantId, jid, sessionId)
		const keys = await this.deps.db.transaction(async (tx) => {
			assertConnected(await sessionStatus(tx, tenantId, chat.sessionId))
			const last = upTo ? await this.find(tx, chat, upTo) : undefined
			const unread = await tx
				.select({ chatJid: sessionMessages.chatJid, messageId: sessionMessages.messageId, senderJid: sessionMessages.senderJid })
				.from(sessionMessages)
				.where(
					and(
						eq(sessionMessages.sessionId, chat.sessionId),
						inArray(sessionMessages.chatJid, chat.filedUnder),
						eq(sessionMessages.fromMe, false),
						or(isNull(sessionMessages.status), sql`${sessionMessages.status} < ${MessageStatusCode.read}`),
						isNull(sessionMessages.revokedAt),
						// Up to that message in the chat's order: within its second, those that arrived before it.
						last?.timestamp && upTo
							? sql`(${sessionMessages.timestamp}, ${sessionMessages.seq}, ${sessionMessages.messageId}, ${sessionMessages.fromMe}) <= (${last.timestamp.toISOString()}::timestamptz, ${last.seq}::int8, ${upTo}, ${last.fromMe}::boolean)`
							: sql`${sessionMessages.timestamp} is not null`,
					),
				)
				.orderBy(desc(sessionMessages.timestamp), desc(sessionMessages.seq), desc(sessionMessages.messageId))
				.limit(READ_MAX)
			const keys = unread.map(
				(m): MessageKey => ({
					remoteJid: m.chatJid,
					fromMe: false,
					id: m.messageId,
					...(isGroupJid(m.chatJid) && m.senderJid ? { participant: m.senderJid } : {}),
				}),
			)
			if (keys.length) await enqueue(tx, command('session.chats.read', { tenantId, sessionId: chat.sessionId }, { chatJid: chat.jid, keys }))
			return keys
		})
		if (keys.length) this.deps.relay?.nudge()
		return { chatJid: chat.jid, marked: keys.length }
	}

	/**
	 * Sends the change `make` builds for an own message as a message of its own (WhatsApp carries
	 * edits and deletes that way); `make` answers null when there is nothing left to do.
	 */
	private async changeOwn(
		tenantId: string,
		jid: string,
		messageId: string,
		sessionId: string | undefined,
		make: (message: Stored, key: MessageKey) => { edit: { key: MessageKey; text: string } } | { delete: { key: MessageKey } } | null,
		/** Whether the change is still to be sent, asked last (in the same transaction) when given. */
		due?: (tx: Tx, chatJid: string, sessionId: string) => Promise<boolean>,
	): Promise<MessageAccepted> {
		const chat = await this.deps.chats.chatOf(tenantId, jid, sessionId)
		const queued = await this.deps.db.transaction(async (tx) => {
			const status = await sessionStatus(tx, tenantId, chat.sessionId)
			const message = await this.find(tx, chat, messageId)
			if (!message.fromMe) throw new ConflictError('NOT_OWN_MESSAGE', 'Only messages this account sent can be edited or deleted for everyone')
			const content = make(message, { remoteJid: message.chatJid, fromMe: true, id: messageId })
			if (!content) return false
			assertConnected(status)
			if (due && !(await due(tx, message.chatJid, chat.sessionId))) return false
			await enqueue(
				tx,
				command(
					'session.messages.send',
					{ tenantId, sessionId: chat.sessionId },
					{ messageId: newOutgoingMessageId(), to: message.chatJid, content },
				),
			)
			return true
		})
		if (queued) this.deps.relay?.nudge()
		return { messageId, status: 'pending', chatJid: chat.jid }
	}

	/**
	 * Notes a delete of the message as sent now, unless one was noted within
	 * REPEATED_DELETE_WINDOW_MS. The note's row lock makes a second DELETE at the same time wait for
	 * the first one's commit, and then find its note.
	 */
	private async firstDeleteInAWhile(tx: Tx, sessionId: string, chatJid: string, messageId: string): Promise<boolean> {
		const now = this.deps.clock.now()
		const noted = await tx
			.insert(sendRequests)
			.values({ sessionId, idempotencyKey: deleteNote(messageId), messageId, chatJid, requestHash: 'delete', createdAt: now })
			.onConflictDoUpdate({
				target: [sendRequests.sessionId, sendRequests.idempotencyKey],
				set: { createdAt: now },
				setWhere: lt(sendRequests.createdAt, new Date(now.getTime() - REPEATED_DELETE_WINDOW_MS)),
			})
			.returning({ messageId: sendRequests.messageId })
		return noted.length > 0
	}

	private async find(tx: Tx, chat: Chat, messageId: string): Promise<Stored> {
		const [message] = await tx
			.select({
				chatJid: sessionMessages.chatJid,
				fromMe: sessionMessages.fromMe,
				type: sessionMessages.type,
				timestamp: sessionMessages.timestamp,
				seq: sessionMessages.seq,
				revokedAt: sessionMessages.revokedAt,
			})
			.from(sessionMessages)
			.where(
				and(
					eq(sessionMessages.sessionId, chat.sessionId),
					inArray(sessionMessages.chatJid, chat.filedUnder),
					eq(sessionMessages.messageId, messageId),
					sql`${sessionMessages.timestamp} is not null`,
				),
			)
			// The same id from both sides of a chat is possible (ids are the sender's choice): own first.
			.orderBy(desc(sessionMessages.fromMe))
			.limit(1)
		if (!message) throw new NotFoundError('MESSAGE_NOT_FOUND', 'The chat has no message with this id')
		return message
	}

	private within(sentAt: Date | null, windowMs: number, code: string, what: string, window: string) {
		if (sentAt && this.deps.clock.now().getTime() - sentAt.getTime() > windowMs)
			throw new ConflictError(code, `WhatsApp lets a message be ${what} for ${window} after it was sent; this one is older`)
	}
}

interface Stored {
	chatJid: string
	fromMe: boolean
	type: string | null
	timestamp: Date | null
	seq: number
	revokedAt: Date | null
}
