import { createHash } from 'node:crypto'
import { and, desc, eq, sql } from 'drizzle-orm'
import { enqueue, type Relay } from '../../bus'
import { command, type MessageKey, type SendContent } from '../../core/catalogue'
import { ConflictError, InvalidInputError, NotFoundError, UnprocessableError, UnsupportedMediaTypeError } from '../../core/errors'
import { isGroupJid, normalizePhoneNumber, normalizeRecipient } from '../../core/jid'
import { newOutgoingMessageId } from '../../core/message-id'
import type { Db, Tx } from '../../db/client'
import { media, sendRequests, sessionMessages } from '../../db/schema'
import { filedChatJid, formsOf } from '../../db/jid-forms'
import { isOneEmoji } from '../../lib/text'
import type { MediaStore } from '../../media'
import { blobOf } from '../../media/blobs'
import { firstBytes, isFormat } from '../../media/formats'
import type { MessageAccepted } from './model'
import type { SessionsService } from '../sessions/service'
import { assertConnected, sessionStatus } from '../sessions/state'
import { SEND_KINDS, type SendMessageContent } from './model'

export interface MessagesServiceDeps {
	db: Db
	/** Publishes what a request enqueued at once instead of at the relay's next tick. */
	relay?: Relay | null
	/** Which session a chat route means when the account has one. */
	sessions: Pick<SessionsService, 'resolveId'>
	/** Where uploads are: a voice note's and a sticker's first bytes are checked, not only their declared type. */
	store: Pick<MediaStore, 'read'>
}

/** What each kind of file takes; a document takes anything. */
const FILE_TYPES: Record<'image' | 'video' | 'audio' | 'sticker', RegExp> = {
	image: /^image\/(jpeg|png|webp)$/,
	video: /^video\//,
	audio: /^audio\//,
	sticker: /^image\/webp$/,
}
/** The fields that only some kinds take. */
const EXTRAS: ReadonlyArray<readonly ['caption' | 'fileName' | 'ptt' | 'gif' | 'mentions', readonly string[]]> = [
	['mentions', ['text']],
	['caption', ['image', 'video', 'document']],
	['fileName', ['document']],
	['ptt', ['audio']],
	['gif', ['video']],
]
/** WhatsApp plays voice notes as ogg/opus only; no transcoder is installed to make other audio one. */
const VOICE_NOTE = /^audio\/(ogg|opus)(;|$)/

/** A vCard 3.0 for a contact card: its name and numbers, escaped as the format asks. */
function vcard(name: string, phoneNumbers: readonly string[]): string {
	const escaped = (s: string) =>
		s
			.replace(/\\/g, '\\\\')
			.replace(/\n/g, '\\n')
			.replace(/([,;])/g, '\\$1')
	const lines = ['BEGIN:VCARD', 'VERSION:3.0', `FN:${escaped(name)}`]
	for (const number of phoneNumbers) {
		const digits = normalizePhoneNumber(number)
		if (!digits)
			throw new InvalidInputError('INVALID_PHONE_NUMBER', `contacts: ${JSON.stringify(number.slice(0, 40))} is not an international phone number`)
		lines.push(`TEL;type=CELL;waid=${digits}:+${digits}`)
	}
	return [...lines, 'END:VCARD'].join('\n')
}

/** The people a text mentions, as JIDs; a group or anything that names no one is refused. */
function mentionsOf(inputs: readonly string[]): string[] {
	const jids = inputs.map((input) => {
		const jid = normalizeRecipient(input)
		if (!jid || isGroupJid(jid))
			throw new InvalidInputError('INVALID_MENTION', `mentions: ${JSON.stringify(input.slice(0, 40))} is not a person (a JID or a phone number)`)
		return jid
	})
	return [...new Set(jids)]
}

/**
 * Sends of every kind. A send is a command written to the outbox with a message id chosen here,
 * so the client gets it at once (202) and a redelivered command cannot send twice. What it refers
 * to (an upload, a message to react to or quote) is checked now, so a send that cannot be made is
 * refused with a 4xx and nothing goes out.
 */
export class MessagesService {
	constructor(private readonly deps: MessagesServiceDeps) {}

	/** POST /sessions/:id/messages: `to` as people write it (a phone number) or a JID. */
	sendTo(tenantId: string, sessionId: string, input: SendMessageContent & { to: string }, idempotencyKey?: string): Promise<MessageAccepted> {
		const to = normalizeRecipient(input.to)
		if (!to)
			throw new InvalidInputError(
				'INVALID_RECIPIENT',
				'to must be a phone number with its country code (e.g. +1 555-777 0003) or a JID (…@s.whatsapp.net, …@lid, …@g.us)',
			)
		return this.send(tenantId, sessionId, to, input, idempotencyKey)
	}

	/** POST /chats/:jid/messages: the chat from the path; a bad one is a 400 INVALID_JID. */
	async sendToChat(
		tenantId: string,
		chat: string,
		sessionId: string | undefined,
		input: SendMessageContent,
		idempotencyKey?: string,
	): Promise<MessageAccepted> {
		const to = normalizeRecipient(chat)
		if (!to)
			throw new InvalidInputError('INVALID_JID', 'Not a chat: use a JID (…@s.whatsapp.net, …@lid, …@g.us) or a phone number with its country code')
		return this.send(tenantId, await this.deps.sessions.resolveId(tenantId, sessionId), to, input, idempotencyKey)
	}

	/**
	 * With an idempotency key, a retry of the same request answers the first message id and
	 * enqueues nothing; the same key with another request is refused (422).
	 */
	private async send(tenantId: string, sessionId: string, to: string, input: SendMessageContent, idempotencyKey?: string): Promise<MessageAccepted> {
		const accepted = await this.deps.db.transaction(async (tx): Promise<MessageAccepted & { replay?: true }> => {
			const status = await sessionStatus(tx, tenantId, sessionId)
			const { content, replyTo } = await this.resolve(tx, tenantId, sessionId, to, input)
			const requestHash = createHash('sha256')
				.update(JSON.stringify([to, content, replyTo ?? null]))
				.digest('base64url')
			if (idempotencyKey) {
				const earlier = await this.earlierSend(tx, sessionId, idempotencyKey, requestHash)
				if (earlier) return earlier
			}
			assertConnected(status)
			const messageId = newOutgoingMessageId()
			// Answered as the chat the message will be filed under, which a LID may not be.
			const chatJid = await filedChatJid(tx, sessionId, to)
			if (idempotencyKey) {
				const inserted = await tx
					.insert(sendRequests)
					.values({ sessionId, idempotencyKey, messageId, chatJid, requestHash })
					.onConflictDoNothing()
					.returning({ messageId: sendRequests.messageId })
				// Lost a race with the same key: that request's answer is this one's.
				if (!inserted.length) return (await this.earlierSend(tx, sessionId, idempotencyKey, requestHash))!
			}
			await enqueue(tx, command('session.messages.send', { tenantId, sessionId }, { messageId, to, content, ...(replyTo ? { replyTo } : {}) }))
			return { messageId, status: 'pending', chatJid }
		})
		if (!accepted.replay) this.deps.relay?.nudge()
		return { messageId: accepted.messageId, status: 'pending', chatJid: accepted.chatJid }
	}

	/** The request as the catalogue's send content, with what it refers to looked up. */
	private async resolve(
		tx: Tx,
		tenantId: string,
		sessionId: string,
		to: string,
		input: SendMessageContent,
	): Promise<{ content: SendContent; replyTo?: MessageKey }> {
		const kinds = SEND_KINDS.filter((k) => input[k] !== undefined)
		if (kinds.length !== 1)
			throw new InvalidInputError(
				'INVALID_CONTENT',
				kinds.length ? `Send one kind of message at a time, not ${kinds.join(' and ')}` : `Say what to send: one of ${SEND_KINDS.join(', ')}`,
			)
		const kind = kinds[0]!
		for (const [field, owners] of EXTRAS)
			if (input[field] !== undefined && !owners.includes(kind))
				throw new InvalidInputError('INVALID_CONTENT', `${field} goes with ${owners.join(' or ')}, not with ${kind}`)
		const replyTo = input.replyTo ? await this.keyOf(tx, sessionId, to, input.replyTo, 'replyTo') : undefined
		return { content: await this.contentOf(tx, tenantId, sessionId, to, kind, input), ...(replyTo ? { replyTo } : {}) }
	}

	private async contentOf(
		tx: Tx,
		tenantId: string,
		sessionId: string,
		to: string,
		kind: (typeof SEND_KINDS)[number],
		input: SendMessageContent,
	): Promise<SendContent> {
		const caption = input.caption ? { caption: input.caption } : {}
		switch (kind) {
			case 'text':
				if (!input.text!.trim()) throw new InvalidInputError('INVALID_TEXT', 'text must not be empty or only whitespace')
				return { text: input.text!, ...(input.mentions ? { mentions: mentionsOf(input.mentions) } : {}) }
			case 'image':
				return { image: await this.upload(tx, tenantId, 'image', input.image!.mediaId), ...caption }
			case 'video':
				return { video: await this.upload(tx, tenantId, 'video', input.video!.mediaId), ...caption, ...(input.gif ? { gif: true } : {}) }
			case 'audio':
				return { audio: await this.upload(tx, tenantId, 'audio', input.audio!.mediaId, input.ptt), ...(input.ptt ? { ptt: true } : {}) }
			case 'document':
				return {
					document: await this.upload(tx, tenantId, 'document', input.document!.mediaId),
					...caption,
					...(input.fileName ? { fileName: input.fileName } : {}),
				}
			case 'sticker':
				return { sticker: await this.upload(tx, tenantId, 'sticker', input.sticker!.mediaId) }
			case 'location':
				return { location: input.location! }
			case 'contacts':
				return { contacts: input.contacts!.map((c) => ({ name: c.name, vcard: vcard(c.name, c.phoneNumbers) })) }
			case 'reaction':
				if (input.reaction!.emoji !== '' && !isOneEmoji(input.reaction!.emoji))
					throw new InvalidInputError('INVALID_EMOJI', 'reaction.emoji must be one emoji, or empty to take the reaction back')
				return {
					reaction: {
						key: await this.keyOf(tx, sessionId, to, input.reaction!.messageId, 'reaction.messageId', { inChat: true }),
						emoji: input.reaction!.emoji,
					},
				}
			case 'poll': {
				const { question, options, selectableCount = 0 } = input.poll!
				if (!question.trim()) throw new InvalidInputError('INVALID_POLL', 'poll.question must not be only whitespace')
				if (options.some((o) => !o.trim())) throw new InvalidInputError('INVALID_POLL', 'poll.options must not be only whitespace')
				if (new Set(options).size !== options.length) throw new InvalidInputError('INVALID_POLL', 'poll.options must be different from each other')
				if (selectableCount > options.length)
					throw new InvalidInputError('INVALID_POLL', 'poll.selectableCount cannot be more than the number of options')
				return { poll: { question, options, selectableCount } }
			}
		}
	}

	/** An uploaded (stored) file of the tenant, checked for the kind it is sent as. */
	private async upload(tx: Tx, tenantId: string, kind: 'image' | 'video' | 'audio' | 'document' | 'sticker', mediaId: string, ptt = false) {
		const [file] = await tx
			.select({ mimetype: media.mimetype, state: media.state, sha256: media.sha256 })
			.from(media)
			.where(and(eq(media.id, mediaId), eq(media.tenantId, tenantId)))
		if (file?.state !== 'stored')
			throw new NotFoundError('MEDIA_NOT_FOUND', `${kind}.mediaId names no stored file of this account; upload it with POST /media`)
		const type = file.mimetype.toLowerCase()
		if (ptt && !VOICE_NOTE.test(type))
			throw new UnsupportedMediaTypeError(
				'UNSUPPORTED_MEDIA_TYPE',
				`A voice note must be ogg/opus audio, not ${type}; no transcoder is installed to convert it`,
			)
		if (kind !== 'document' && !FILE_TYPES[kind].test(type))
			throw new UnsupportedMediaTypeError(
				'UNSUPPORTED_MEDIA_TYPE',
				`A file of type ${type} cannot be sent as ${/^[aeiou]/.test(kind) ? 'an' : 'a'} ${kind}`,
			)
		// WhatsApp's apps play a voice note and show a sticker only in their one format: a file that
		// only claims it would go out and never play or show.
		const format = ptt ? 'voice' : kind === 'sticker' ? 'sticker' : null
		const blob = format && file.sha256 ? await blobOf(tx, tenantId, file.sha256) : undefined
		if (format && blob && !isFormat(format, await firstBytes(this.deps.store, blob.storageKey)))
			throw new UnsupportedMediaTypeError(
				'UNSUPPORTED_MEDIA_TYPE',
				format === 'voice'
					? 'A voice note must be ogg/opus audio, and this upload only says it is: its bytes are not Ogg Opus'
					: 'A sticker must be a WebP image, and this upload only says it is: its bytes are not WebP',
			)
		return { mediaId }
	}

	/**
	 * The key of a stored message of the session, preferring the chat being written to. A reply may
	 * quote a message of another chat (WhatsApp's "reply privately"); a reaction is shown on the
	 * message it names, in the chat it goes to, so it must be `inChat` (under either JID of it).
	 */
	private async keyOf(tx: Tx, sessionId: string, to: string, messageId: string, field: string, { inChat = false } = {}): Promise<MessageKey> {
		const [row] = await tx
			.select({
				chatJid: sessionMessages.chatJid,
				fromMe: sessionMessages.fromMe,
				senderJid: sessionMessages.senderJid,
				revokedAt: sessionMessages.revokedAt,
			})
			.from(sessionMessages)
			.where(
				and(
					eq(sessionMessages.sessionId, sessionId),
					eq(sessionMessages.messageId, messageId),
					inChat ? sql`${sessionMessages.chatJid} = any(${formsOf(sessionId, to)})` : undefined,
				),
			)
			.orderBy(desc(sql`${sessionMessages.chatJid} = ${to}`))
			.limit(1)
		if (!row) throw new NotFoundError('MESSAGE_NOT_FOUND', `${field} names no message of ${inChat ? 'this chat' : 'this session'}`)
		// As WhatsApp's apps: a message deleted for everyone can be neither quoted nor reacted to.
		if (row.revokedAt) throw new ConflictError('MESSAGE_DELETED', `${field} names a message deleted for everyone`)
		const participant = isGroupJid(row.chatJid) && !row.fromMe && row.senderJid ? { participant: row.senderJid } : {}
		return { remoteJid: row.chatJid, fromMe: row.fromMe, id: messageId, ...participant }
	}

	private async earlierSend(tx: Tx, sessionId: string, idempotencyKey: string, requestHash: string) {
		const [earlier] = await tx
			.select({ messageId: sendRequests.messageId, chatJid: sendRequests.chatJid, requestHash: sendRequests.requestHash })
			.from(sendRequests)
			.where(and(eq(sendRequests.sessionId, sessionId), eq(sendRequests.idempotencyKey, idempotencyKey)))
		if (!earlier) return undefined
		if (earlier.requestHash !== requestHash)
			throw new UnprocessableError('IDEMPOTENCY_KEY_REUSED', 'This Idempotency-Key was used for a different request; use a new key for a new message')
		return { messageId: earlier.messageId, status: 'pending' as const, chatJid: earlier.chatJid, replay: true as const }
	}
}
