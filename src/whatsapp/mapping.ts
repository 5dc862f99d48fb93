import {
	getContentType,
	isLidUser,
	isPnUser,
	jidNormalizedUser,
	normalizeMessageContent,
	proto,
	toNumber,
	WAMessageStubType,
	type BaileysEventMap,
	type Chat as BaileysChat,
	type Contact as BaileysContact,
	type MessageUserReceiptUpdate,
	type WAMessage,
	type WAMessageKey,
	type WAMessageUpdate,
} from '@whiskeysockets/baileys'
import {
	MESSAGE_BATCH_MAX,
	type Chat,
	type Contact,
	type EventData,
	type LidPnMapping,
	type Message,
	type MessageKey,
	type MessageUpdate,
} from '../core/catalogue'
import { MessageStatusCode } from '../core/message-status'
import type { WhatsAppEvent } from './port'

/**
 * Baileys events → catalogue data (notes/baileys.md, "Events → domain events"). Pure: whatever a
 * lookup needs (LID ↔ phone JIDs) comes in through the context, so every rule here is tested with
 * Baileys' own proto payloads and no socket.
 */

export interface MappingContext {
	/** The other form of a user JID (LID → phone JID, or phone JID → LID) when known. */
	altOf?(jid: string): string | undefined
	/** Epoch seconds; for the rare message without a timestamp. */
	now?(): number
}

const NAME_MAX = 256
const JID_MAX = 320
const ID_MAX = 128

const nowSeconds = (ctx: MappingContext) => ctx.now?.() ?? Math.floor(Date.now() / 1000)
const clip = (s: string | null | undefined, max = NAME_MAX) => (s ? s.slice(0, max) : undefined)
const isJid = (s: string | null | undefined): s is string => !!s && s.length >= 3 && s.length <= JID_MAX && s.includes('@')
/** A user JID without its device part (`1555…:3@s.whatsapp.net` → `1555…@s.whatsapp.net`). */
const userJid = (jid: string | null | undefined) => (isJid(jid) ? jidNormalizedUser(jid) || undefined : undefined)
/** Epoch seconds from a number, a protobuf `Long` or nothing. */
export const seconds = (t: unknown): number => {
	const n = Math.floor(Number(toNumber(t as number)) || 0)
	return n > 0 ? n : 0
}

function chunk<T>(items: readonly T[], size = MESSAGE_BATCH_MAX): T[][] {
	const out: T[][] = []
	for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size))
	return out
}

/** The proto message as JSON (Longs and enums as strings, bytes as base64): `proto.Message.fromObject` reads it back. */
function contentJson(message: proto.IMessage | null | undefined): Record<string, unknown> | null {
	if (!message) return null
	return proto.Message.fromObject(message).toJSON()
}

/** The other form of `jid`: what the key carries, else what the context knows. */
function altFor(jid: string, given: string | null | undefined, ctx: MappingContext): string | undefined {
	const alt = userJid(given) ?? ctx.altOf?.(jid)
	return alt && alt !== jid ? alt : undefined
}

function mapKey(key: WAMessageKey | null | undefined, ctx: MappingContext = {}): MessageKey | undefined {
	const remoteJid = key?.remoteJid
	const id = key?.id
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

function textOf(content: proto.IMessage): string | undefined {
	return (
		content.conversation ??
		content.extendedTextMessage?.text ??
		content.imageMessage?.caption ??
		content.videoMessage?.caption ??
		content.documentMessage?.caption ??
		undefined
	) || undefined
}

const isRevokeStub = (m: Pick<WAMessage, 'message' | 'messageStubType'>) => !m.message && m.messageStubType === WAMessageStubType.REVOKE

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
	}
	const text = textOf(content)
	if (text !== undefined) out.text = text
	const pushName = clip(m.pushName)
	if (pushName) out.pushName = pushName
	if (typeof m.status === 'number' && m.status >= 0 && m.status <= MessageStatusCode.played) out.status = m.status
	return out
}

/** `messages.upsert`: the messages to store, and the revokes that arrived as stubs. */
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
		const mapped = mapMessage(m, ctx)
		if (mapped) out.push(mapped)
	}
	return { messages: out, updates }
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
		if (typeof update.status === 'number' && update.status >= 0 && update.status <= MessageStatusCode.played) u.status = update.status
		if (update.message === null && update.messageStubType === WAMessageStubType.REVOKE) u.revoked = true
		const edited = update.message?.editedMessage?.message
		const editedContent = normalizeMessageContent(edited)
		const editedType = editedContent && getContentType(editedContent)
		if (edited && editedContent && editedType) {
			u.edit = { type: editedType.slice(0, 64), content: contentJson(edited), editedAt: seconds(update.messageTimestamp) || nowSeconds(ctx) }
			const text = textOf(editedContent)
			if (text !== undefined) u.edit.text = text
		}
		if (u.status !== undefined || u.edit || u.revoked) out.push(u)
	}
	return out
}

/** Group receipts (`message-receipt.update`, one per participant): the furthest any participant got. */
export function mapReceipts(receipts: readonly MessageUserReceiptUpdate[], ctx: MappingContext = {}): MessageUpdate[] {
	const out: MessageUpdate[] = []
	for (const { key, receipt } of receipts) {
		const k = mapKey(key, ctx)
		if (!k) continue
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

/** Both forms of an identity from an id and what else is known about it. */
function identity(id: string, lid: string | null | undefined, pn: string | null | undefined) {
	const out: { lid?: string; pn?: string } = {}
	const l = userJid(lid) ?? (isLidUser(id) ? id : undefined)
	const p = userJid(pn) ?? (isPnUser(id) ? id : undefined)
	if (l && isLidUser(l)) out.lid = l
	if (p && isPnUser(p)) out.pn = p
	return out
}

export function mapContact(c: Partial<BaileysContact>): Contact | undefined {
	const jid = userJid(c.id)
	if (!jid) return undefined
	const out: Contact = { jid, ...identity(jid, c.lid, c.phoneNumber) }
	const name = clip(c.name)
	const notify = clip(c.notify)
	const verifiedName = clip(c.verifiedName)
	if (name) out.name = name
	if (notify) out.notify = notify
	if (verifiedName) out.verifiedName = verifiedName
	// 'changed' and null are markers ("look it up again", "no picture"), not URLs.
	if (c.imgUrl && /^https?:\/\//.test(c.imgUrl) && c.imgUrl.length <= 2048) out.imgUrl = c.imgUrl
	return out
}

/**
 * A chat from `chats.upsert` / history (`update: false`) or `chats.update` (`update: true`). In
 * updates Baileys sends `unreadCount` as an increment per new message (its buffer sums them), so
 * only 0 — "marked read" — is an absolute value there.
 */
export function mapChat(c: Partial<BaileysChat>, { update = false } = {}): Chat | undefined {
	const jid = isJid(c.id) ? c.id : undefined
	if (!jid) return undefined
	const out: Chat = { jid, ...identity(jid, c.lidJid, c.pnJid) }
	const name = clip(c.name ?? c.displayName)
	if (name) out.name = name
	const unread = c.unreadCount
	if (typeof unread === 'number' && (update ? unread === 0 : unread >= 0)) out.unreadCount = unread
	if (typeof c.archived === 'boolean') out.archived = c.archived
	const last = seconds(c.conversationTimestamp) || seconds(c.lastMessageRecvTimestamp)
	if (last) out.lastMessageAt = last
	return out
}

function mapLidMappings(mappings: readonly { lid?: string | null; pn?: string | null }[] | null | undefined): LidPnMapping[] {
	const out: LidPnMapping[] = []
	for (const m of mappings ?? []) {
		const lid = userJid(m.lid)
		const pn = userJid(m.pn)
		if (lid && pn && isLidUser(lid) && isPnUser(pn)) out.push({ lid, pn })
	}
	return out
}

const syncTypeName = (t: proto.HistorySync.HistorySyncType | null | undefined) =>
	t === null || t === undefined ? undefined : (proto.HistorySync.HistorySyncType[t] ?? String(t))

/**
 * `messaging-history.set` → `session.history.sync` batches of at most MESSAGE_BATCH_MAX messages
 * (and as many chats, contacts, mappings each), numbered by `part`; revoked placeholders become
 * updates. The chunk's own LID↔PN pairs resolve alt JIDs before the context is asked.
 */
export function mapHistory(
	set: BaileysEventMap['messaging-history.set'],
	ctx: MappingContext = {},
): { batches: EventData<'session.history.sync'>[]; updates: MessageUpdate[] } {
	const lidPnMappings = mapLidMappings([
		...(set.lidPnMappings ?? []),
		...set.chats.map((c) => ({ lid: c.lidJid ?? (isLidUser(c.id ?? '') ? c.id : undefined), pn: c.pnJid ?? (isPnUser(c.id ?? '') ? c.id : undefined) })),
	])
	const known = new Map<string, string>()
	for (const { lid, pn } of lidPnMappings) {
		known.set(lid, pn)
		known.set(pn, lid)
	}
	const local: MappingContext = { ...ctx, altOf: (jid) => known.get(jid) ?? ctx.altOf?.(jid) }
	const { messages, updates } = mapUpsert(set, local)
	const chats = set.chats.flatMap((c) => mapChat(c) ?? [])
	const contacts = set.contacts.flatMap((c) => mapContact(c) ?? [])
	const mappings = dedupe(lidPnMappings, (m) => m.lid)

	const parts = Math.max(1, ...[messages, chats, contacts, mappings].map((list) => Math.ceil(list.length / MESSAGE_BATCH_MAX)))
	const syncType = syncTypeName(set.syncType)
	const batches: EventData<'session.history.sync'>[] = []
	for (let index = 0; index < parts; index++) {
		const slice = <T>(list: T[]) => list.slice(index * MESSAGE_BATCH_MAX, (index + 1) * MESSAGE_BATCH_MAX)
		const batch: EventData<'session.history.sync'> = {
			messages: slice(messages),
			chats: slice(chats),
			contacts: slice(contacts),
			lidPnMappings: slice(mappings),
			part: { index, count: parts },
		}
		if (syncType) batch.syncType = syncType
		if (typeof set.progress === 'number') batch.progress = Math.min(100, Math.max(0, set.progress))
		if (typeof set.isLatest === 'boolean') batch.isLatest = set.isLatest
		if (typeof set.chunkOrder === 'number') batch.chunkOrder = set.chunkOrder
		batches.push(batch)
	}
	return { batches, updates }
}

function dedupe<T>(items: readonly T[], keyOf: (item: T) => string): T[] {
	const seen = new Map<string, T>()
	for (const item of items) if (!seen.has(keyOf(item))) seen.set(keyOf(item), item)
	return [...seen.values()]
}

/** Contacts and chats merge by JID within one batch: the later fields win, as Baileys' own buffer does. */
function mergeBy<T extends { jid: string }>(items: readonly T[]): T[] {
	const byJid = new Map<string, T>()
	for (const item of items) byJid.set(item.jid, { ...byJid.get(item.jid), ...item })
	return [...byJid.values()]
}

/**
 * One `ev.process` batch of Baileys events → the session's domain events, in an order that reads
 * well on the WebSocket (history, contacts, chats, messages, then changes to messages). The
 * consumer does not depend on it: its projection is order-independent.
 */
export function toWhatsAppEvents(events: Partial<BaileysEventMap>, ctx: MappingContext = {}): WhatsAppEvent[] {
	const out: WhatsAppEvent[] = []
	const updates: MessageUpdate[] = []

	const history = events['messaging-history.set']
	if (history) {
		const mapped = mapHistory(history, ctx)
		for (const data of mapped.batches) out.push({ type: 'session.history.sync', data })
		updates.push(...mapped.updates)
	}

	const contacts = mergeBy([
		...(events['contacts.upsert'] ?? []).flatMap((c) => mapContact(c) ?? []),
		...(events['contacts.update'] ?? []).flatMap((c) => mapContact(c) ?? []),
	])
	for (const part of chunk(contacts)) out.push({ type: 'session.contacts.upsert', data: { contacts: part } })

	// chats.update may name a chat never upserted: the consumer treats it as an upsert.
	const chats = mergeBy([
		...(events['chats.upsert'] ?? []).flatMap((c) => mapChat(c) ?? []),
		...(events['chats.update'] ?? []).flatMap((c) => mapChat(c, { update: true }) ?? []),
	])
	for (const part of chunk(chats)) out.push({ type: 'session.chats.upsert', data: { chats: part } })

	const upsert = events['messages.upsert']
	if (upsert) {
		const mapped = mapUpsert(upsert, ctx)
		const type = upsert.type === 'notify' ? 'notify' : 'append'
		for (const part of chunk(mapped.messages)) out.push({ type: 'session.messages.upsert', data: { messages: part, type } })
		updates.push(...mapped.updates)
	}
	updates.push(...mapMessageUpdates(events['messages.update'] ?? [], ctx), ...mapReceipts(events['message-receipt.update'] ?? [], ctx))
	for (const part of chunk(updates)) out.push({ type: 'session.messages.update', data: { updates: part } })

	// A mapping learnt outside a history sync (usync, app state) travels in an otherwise empty
	// history entry: the one event that carries mappings.
	const learnt = mapLidMappings(events['lid-mapping.update'] ? [events['lid-mapping.update']] : [])
	if (learnt.length) out.push({ type: 'session.history.sync', data: { messages: [], chats: [], contacts: [], lidPnMappings: learnt, syncType: 'LID_MAPPING' } })

	const status = events['messaging-history.status']
	if (status?.status === 'complete')
		out.push({
			type: 'session.history.sync',
			data: { messages: [], chats: [], contacts: [], lidPnMappings: [], syncType: syncTypeName(status.syncType), progress: 100 },
		})
	return out
}

/** User JIDs in a batch that are LIDs without their phone JID: the driver looks these up before mapping. */
export function unresolvedLids(events: Partial<BaileysEventMap>): string[] {
	const found = new Set<string>()
	const visit = (key: WAMessageKey | null | undefined) => {
		if (!key) return
		if (isLidUser(key.remoteJid ?? '') && !key.remoteJidAlt) found.add(key.remoteJid!)
		if (isLidUser(key.participant ?? '') && !key.participantAlt) found.add(jidNormalizedUser(key.participant!))
	}
	for (const m of events['messages.upsert']?.messages ?? []) visit(m.key)
	for (const u of events['messages.update'] ?? []) visit(u.key)
	for (const r of events['message-receipt.update'] ?? []) visit(r.key)
	for (const m of events['messaging-history.set']?.messages ?? []) visit(m.key)
	return [...found]
}
