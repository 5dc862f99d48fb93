import { isLidUser, jidNormalizedUser, type BaileysEventMap, type WAMessageKey } from '@whiskeysockets/baileys'
import type { MessageUpdate } from '../../core/catalogue'
import type { WhatsAppEvent } from '../port'
import { chunk, type MappingContext } from './common'
import { mapGroupEvents } from './groups'
import { mergeBy, mapHistory, syncTypeName } from './history'
import { mapMessageUpdates, mapReceipts, mapUpsert } from './messages'
import { mapChat, mapContact, mapLidMappings } from './people'

export { arrivalClock, ID_MAX, seconds, type MappingContext } from './common'
export { mapGroup, mapGroupEvents, mapParticipant } from './groups'
export { mapHistory } from './history'
export { mapMessage, mapMessageUpdates, mapReceipts, mapUpsert, ownChange } from './messages'
export { mapChat, mapContact } from './people'

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

	// Groups before their messages: a client sees a group before what was said in it.
	out.push(...mapGroupEvents(events, ctx))

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
	if (learnt.length)
		out.push({ type: 'session.history.sync', data: { messages: [], chats: [], contacts: [], lidPnMappings: learnt, syncType: 'LID_MAPPING' } })

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
