import {
	getContentType,
	normalizeMessageContent,
	proto,
	WAMessageStubType,
	type BaileysEventMap,
	type MessageUserReceiptUpdate,
	type WAMessage,
	type WAMessageKey,
	type WAMessageUpdate,
} from '@whiskeysockets/baileys'
import type { Message, MessageKey, MessageUpdate } from '../../core/catalogue'
import { MessageStatusCode, messageStatusRank } from '../../core/message-status'
import { clip, ID_MAX, isJid, type MappingContext, nowSeconds, seconds, userJid } from './common'
import { describe, reactionOf } from './content'

/** The proto message as JSON (Longs and enums as strings, bytes as base64): `proto.Message.fromObject` reads it back. */
export function contentJson(message: proto.IMessage | null | undefined): Record<string, unknown> | null {
	if (!message) return null
	// Plain text, most of what a history sync carries, is its own JSON: the trip through protobufjs'
	// object conversion was the largest cost of mapping a history chunk.
	const fields = Object.keys(message)
	if (fields.length === 1 && fields[0] === 'conversation' && typeof message.conversation === 'string') return { conversation: message.conversation }
	return proto.Message.fromObject(message).toJSON()
}

/** The other form of `jid`: what the key carries, else what the context knows. */
function altFor(jid: string, given: string | null | undefined, ctx: MappingContext): string | undefined {
	const alt = userJid(given) ?? ctx.altOf?.(jid)
	return alt && alt !== jid ? alt : undefined
}

export function mapKey(key: WAMessageKey | null | undefined, ctx: MappingContext = {}): MessageKey | undefined {
	const remoteJid = key?.remoteJid
	const id = key?.id
	if (id && id.length > ID_MAX) ctx.unstorable?.(id, remoteJid)
	if (!isJid(remoteJid) || !id || id.length > ID_MAX) return undefined
	const out: MessageKey = { remoteJid, fromMe: !!key.fromMe, id }
	const remoteJidAlt = altFor(remoteJid, key.remoteJidAlt, ctx)
	if (remoteJidAlt) out.remoteJidAlt = remoteJidAlt
	// In 1:1 chats Baileys sets participant to '' — absent, not a JID.
	const participant = isJid(key.participant) ? key.participant : undefined
	if (participant) {
		out.participant = participant
		const participantAlt = altFor(participant, key.participantAlt, ctx)
		if (participantAlt) out.participantAlt = participantAlt
	}
	return out
}

export function textOf(content: proto.IMessage): string | undefined {
	return (
		(content.conversation ??
			content.extendedTextMessage?.text ??
			content.imageMessage?.caption ??
			content.videoMessage?.caption ??
			content.documentMessage?.caption ??
			content.liveLocationMessage?.caption ??
			undefined) ||
		undefined
	)
}

export const isRevokeStub = (m: Pick<WAMessage, 'message' | 'messageStubType'>) => !m.message && m.messageStubType === WAMessageStubType.REVOKE

/**
 * A message as the catalogue carries it, or undefined for what is not a chat message: protocol
 * messages (revokes, edits, key shares, history notifications arrive as their own events),
 * stub-only entries (group notices, revoked placeholders) and content Baileys cannot name.
 */
export function mapMessage(m: WAMessage, ctx: MappingContext = {}): Message | undefined {
	const key = mapKey(m.key, ctx)
	const content = normalizeMessageContent(m.message)
	if (!key || !content || content.protocolMessage) return undefined
	const type = getContentType(content)
	if (!type) return undefined
	const out: Message = {
		key,
		timestamp: seconds(m.messageTimestamp) || nowSeconds(ctx),
		type: type.slice(0, 64),
		content: contentJson(m.message),
		...describe(content, ctx.sessionId ? { sessionId: ctx.sessionId, messageId: key.id, fromMe: key.fromMe } : undefined),
	}
	const text = textOf(content)
	if (text !== undefined) out.text = text
	const pushName = clip(m.pushName)
	if (pushName) out.pushName = pushName
	const status = validStatus(m.status)
	if (status !== undefined) out.status = status
	// A received message has reached this account: the session answers it with a delivery receipt
	// (sent once its event is published, see receipts.ts), and a history message sits on the phone.
	// Baileys leaves its `status` unset (only own messages get SERVER_ACK when decoded), so
	// delivered is the least it has got to.
	if (!key.fromMe && messageStatusRank(out.status) < messageStatusRank(MessageStatusCode.delivered)) out.status = MessageStatusCode.delivered
	return out
}

const validStatus = (s: number | null | undefined) => (typeof s === 'number' && s >= 0 && s <= MessageStatusCode.played ? s : undefined)

/**
 * A message that changes another rather than being one (a reaction, a poll vote), as the update
 * it makes; null for one that cannot be read (a vote the driver could not decrypt); undefined for
 * a message of its own. Baileys has already turned the target's key to this account's view.
 */
function changeOf(m: WAMessage, ctx: MappingContext): MessageUpdate | null | undefined {
	const content = normalizeMessageContent(m.message)
	if (!content?.reactionMessage && !content?.pollUpdateMessage) return undefined
	const author = m.key.fromMe ? userJid(ctx.me) : (userJid(m.key.participant) ?? userJid(m.key.remoteJid))
	if (content.reactionMessage) {
		const found = reactionOf(content, author, m.messageTimestamp)
		const key = found && targetKey(m, found.target, ctx)
		return key && found ? { key, reaction: found.reaction } : null
	}
	const vote = ctx.pollVoteOf?.(m)
	const key = targetKey(m, content.pollUpdateMessage!.pollCreationMessageKey, ctx)
	return vote && key ? { key, pollVote: vote } : null
}

/**
 * The key of the message a change is about. It is in the change's chat, so it has the other JID
 * form the change's own key carries: a contact WhatsApp addresses by LID has its messages filed
 * under the phone-number chat, and a change keyed by the LID alone would miss them.
 */
function targetKey(m: WAMessage, target: proto.IMessageKey | null | undefined, ctx: MappingContext): MessageKey | undefined {
	const key: WAMessageKey = { remoteJid: m.key.remoteJid, ...target }
	if (key.remoteJid === m.key.remoteJid && !key.remoteJidAlt) key.remoteJidAlt = m.key.remoteJidAlt
	return mapKey(key, ctx)
}

/**
 * An edit or delete this session sent, as the `messages.update` Baileys emits for one it receives:
 * the socket runs with `emitOwnEvents` off, so it processes none of its own.
 */
export function ownChange(sent: WAMessage): WAMessageUpdate | undefined {
	const protocol = sent.message?.protocolMessage
	const id = protocol?.key?.id
	if (!id) return undefined
	const key = { ...sent.key, id }
	if (protocol.type === proto.Message.ProtocolMessage.Type.REVOKE)
		return { key, update: { message: null, messageStubType: WAMessageStubType.REVOKE, key: sent.key } }
	if (protocol.type === proto.Message.ProtocolMessage.Type.MESSAGE_EDIT)
		return { key, update: { message: { editedMessage: { message: protocol.editedMessage } }, messageTimestamp: sent.messageTimestamp } }
	return undefined
}

/** `messages.upsert`: the messages to store, and the changes (revokes, reactions, votes) to others. */
export function mapUpsert(
	{ messages }: Pick<BaileysEventMap['messages.upsert'], 'messages'>,
	ctx: MappingContext = {},
): { messages: Message[]; updates: MessageUpdate[] } {
	const out: Message[] = []
	const updates: MessageUpdate[] = []
	for (const m of messages) {
		if (isRevokeStub(m)) {
			const key = mapKey(m.key, ctx)
			if (key) updates.push({ key, revoked: true })
			continue
		}
		const change = changeOf(m, ctx)
		if (change !== undefined) {
			if (change) updates.push(change)
			continue
		}
		const mapped = mapMessage(m, ctx)
		if (mapped) out.push(mapped)
	}
	numberArrivals(out, ctx)
	return { messages: out, updates }
}

/** Gives `messages`, in the order they arrived, their arrival numbers. */
export function numberArrivals(messages: readonly Message[], ctx: MappingContext) {
	if (ctx.nextSeq) for (const m of messages) m.seq = ctx.nextSeq()
}

/**
 * When an edit was made, to the microsecond: the newest of two edits is the one that wins. WhatsApp
 * states it in whole seconds (Baileys floors the edit's milliseconds), and a bot that rewrites its
 * answer as it goes edits several times a second; the moment the edit reached this session orders
 * those, and is at most the network's delay after the stated second. A stated second later than
 * that (a phone's clock ahead) is kept.
 */
function editTime(stated: unknown, ctx: MappingContext): number {
	const second = seconds(stated)
	const arrived = ctx.nextSeq ? ctx.nextSeq() / 1e6 : undefined
	if (arrived !== undefined && arrived >= second) return arrived
	return second || nowSeconds(ctx)
}

/**
 * `messages.update`: status (receipts), edits and revokes; other changes (poll votes, reactions,
 * stub parameters) are not modelled. A receipt's `messageTimestamp` is the receipt's time and is
 * never used as the message's.
 */
export function mapMessageUpdates(updates: readonly WAMessageUpdate[], ctx: MappingContext = {}): MessageUpdate[] {
	const out: MessageUpdate[] = []
	for (const { key, update } of updates) {
		const k = mapKey(key, ctx)
		if (!k || !update) continue
		const u: MessageUpdate = { key: k }
		const status = validStatus(update.status)
		if (status !== undefined) u.status = status
		if (update.message === null && update.messageStubType === WAMessageStubType.REVOKE) u.revoked = true
		const edited = update.message?.editedMessage?.message
		const editedContent = normalizeMessageContent(edited)
		const editedType = editedContent && getContentType(editedContent)
		if (edited && editedContent && editedType) {
			u.edit = { type: editedType.slice(0, 64), content: contentJson(edited), editedAt: editTime(update.messageTimestamp, ctx) }
			const text = textOf(editedContent)
			if (text !== undefined) u.edit.text = text
		}
		if (u.status !== undefined || u.edit || u.revoked) out.push(u)
	}
	return out
}

/**
 * Group receipts (`message-receipt.update`, one per participant): the furthest any participant got.
 * The account's own phone answers for a message a companion sent to a group with a `sender`
 * receipt, which Baileys reports as a read by the account: it says the phone has the message
 * (server_ack), not that anyone read it.
 */
export function mapReceipts(receipts: readonly MessageUserReceiptUpdate[], ctx: MappingContext = {}): MessageUpdate[] {
	const out: MessageUpdate[] = []
	const own = new Set([userJid(ctx.me), userJid(ctx.meLid)].filter(Boolean))
	for (const { key, receipt } of receipts) {
		const k = mapKey(key, ctx)
		if (!k) continue
		if (k.fromMe && own.has(userJid(receipt.userJid))) {
			out.push({ key: k, status: MessageStatusCode.server_ack })
			continue
		}
		const status = receipt.playedTimestamp
			? MessageStatusCode.played
			: receipt.readTimestamp
				? MessageStatusCode.read
				: receipt.receiptTimestamp
					? MessageStatusCode.delivered
					: undefined
		if (status !== undefined) out.push({ key: k, status })
	}
	return out
}
