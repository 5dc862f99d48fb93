import { isLidUser, isPnUser, proto, type BaileysEventMap } from '@whiskeysockets/baileys'
import { type EventData, type Message, MESSAGE_BATCH_MAX, type MessageUpdate } from '../../core/catalogue'
import type { MappingContext } from './common'
import { mapUpsert, numberArrivals } from './messages'
import { mapChat, mapContact, mapLidMappings } from './people'

export const syncTypeName = (t: proto.HistorySync.HistorySyncType | null | undefined) =>
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
		...set.chats.map((c) => ({
			lid: c.lidJid ?? (isLidUser(c.id ?? '') ? c.id : undefined),
			pn: c.pnJid ?? (isPnUser(c.id ?? '') ? c.id : undefined),
		})),
	])
	const known = new Map<string, string>()
	for (const { lid, pn } of lidPnMappings) {
		known.set(lid, pn)
		known.set(pn, lid)
	}
	const local: MappingContext = { ...ctx, altOf: (jid) => known.get(jid) ?? ctx.altOf?.(jid), nextSeq: undefined }
	const { messages, updates } = mapUpsert(set, local)
	numberArrivals(oldestFirst(messages), ctx)
	// A conversation in a history sync is a snapshot of the chat: an absent unread count is the
	// proto default, 0, as WhatsApp Web reads it (and not "unknown", which would leave every message
	// it carries to be counted as unread).
	const chats = set.chats.flatMap((c) => mapChat(c) ?? []).map((c) => ({ ...c, unreadCount: c.unreadCount ?? 0 }))
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

/**
 * The chunk's messages chat by chat, each chat's oldest first. WhatsApp lists a conversation's
 * messages newest first (Baileys takes the first as the chat's most recent); a list whose times
 * rise is taken as it comes.
 */
function oldestFirst(messages: readonly Message[]): Message[] {
	const byChat = new Map<string, Message[]>()
	for (const m of messages) {
		const list = byChat.get(m.key.remoteJid)
		if (list) list.push(m)
		else byChat.set(m.key.remoteJid, [m])
	}
	return [...byChat.values()].flatMap((list) => (list[0]!.timestamp < list.at(-1)!.timestamp ? list : list.reverse()))
}

export function dedupe<T>(items: readonly T[], keyOf: (item: T) => string): T[] {
	const seen = new Map<string, T>()
	for (const item of items) if (!seen.has(keyOf(item))) seen.set(keyOf(item), item)
	return [...seen.values()]
}

/** Contacts and chats merge by JID within one batch: the later fields win, as Baileys' own buffer does. */
export function mergeBy<T extends { jid: string }>(items: readonly T[]): T[] {
	const byJid = new Map<string, T>()
	for (const item of items) byJid.set(item.jid, { ...byJid.get(item.jid), ...item })
	return [...byJid.values()]
}
