import { asc, eq, sql } from 'drizzle-orm'
import type { Db } from '../../src/db/client'
import {
	sessionChats,
	sessionContacts,
	sessionLidMappings,
	sessionMessageReactions,
	sessionMessages,
	sessionPollVotes,
	sessions,
	tenants,
} from '../../src/db/schema'
import { domainEvent, type DomainEventType, type EventData, type Message, type MessageKey } from '../../src/core/catalogue'

/** A tenant and a session to hang events on. */
export async function createSession(db: Db, name = 'test') {
	const tenantId = Bun.randomUUIDv7()
	const sessionId = Bun.randomUUIDv7()
	await db.insert(tenants).values({ id: tenantId, name: `tenant-${name}` })
	await db.insert(sessions).values({ id: sessionId, tenantId, name, status: 'starting' })
	return { tenantId, sessionId }
}

export type Meta = { tenantId: string; sessionId: string }

let clock = Date.parse('2026-01-01T00:00:00Z')
/** Events in the order a runner would emit them: strictly increasing `occurredAt`. */
export function event<K extends DomainEventType>(meta: Meta, type: K, data: EventData<K>, occurredAt = new Date((clock += 1_000))) {
	return domainEvent(type, { ...meta, occurredAt }, data)
}

export const ALICE = '4915100000001@s.whatsapp.net'
export const ALICE_LID = '111111111111111@lid'
export const BOB = '4915100000002@s.whatsapp.net'
export const GROUP = '120363000000000001@g.us'

export function key(id: string, overrides: Partial<MessageKey> = {}): MessageKey {
	return { remoteJid: ALICE, fromMe: false, id, ...overrides }
}

export function message(id: string, overrides: Partial<Message> = {}): Message {
	const text = `text of ${id}`
	return {
		key: key(id),
		timestamp: 1_767_225_600,
		pushName: 'Alice',
		type: 'conversation',
		text,
		content: { conversation: text },
		...overrides,
	}
}

/** Every row stored for a session, in key order: what "changes nothing" is checked against. */
export async function snapshot(db: Db, sessionId: string) {
	return {
		session: (await db.select().from(sessions).where(eq(sessions.id, sessionId)))[0] ?? null,
		messages: await db
			.select()
			.from(sessionMessages)
			.where(eq(sessionMessages.sessionId, sessionId))
			.orderBy(asc(sessionMessages.chatJid), asc(sessionMessages.messageId), asc(sessionMessages.fromMe)),
		chats: await db.select().from(sessionChats).where(eq(sessionChats.sessionId, sessionId)).orderBy(asc(sessionChats.jid)),
		contacts: await db.select().from(sessionContacts).where(eq(sessionContacts.sessionId, sessionId)).orderBy(asc(sessionContacts.jid)),
		mappings: await db.select().from(sessionLidMappings).where(eq(sessionLidMappings.sessionId, sessionId)).orderBy(asc(sessionLidMappings.lid)),
		reactions: await db
			.select()
			.from(sessionMessageReactions)
			.where(eq(sessionMessageReactions.sessionId, sessionId))
			.orderBy(asc(sessionMessageReactions.chatJid), asc(sessionMessageReactions.messageId), asc(sessionMessageReactions.sender)),
		votes: await db
			.select()
			.from(sessionPollVotes)
			.where(eq(sessionPollVotes.sessionId, sessionId))
			.orderBy(asc(sessionPollVotes.chatJid), asc(sessionPollVotes.messageId), asc(sessionPollVotes.voter)),
	}
}

export async function countMessages(db: Db, sessionId?: string): Promise<number> {
	const [row] = await db
		.select({ n: sql<number>`count(*)::int` })
		.from(sessionMessages)
		.where(sessionId ? eq(sessionMessages.sessionId, sessionId) : undefined)
	return row?.n ?? 0
}

/** `count` history messages spread over `chats` chats, in batches of 500 like the runner sends. */
export function historyBatches(meta: Meta, count: number, { chats = 50, perBatch = 500 } = {}) {
	const batches = []
	for (let start = 0; start < count; start += perBatch) {
		const messages: Message[] = []
		for (let i = start; i < Math.min(count, start + perBatch); i++) {
			const chat = `49151${String(i % chats).padStart(8, '0')}@s.whatsapp.net`
			const text = `history message ${i}: some words to make the row look like a real one`
			messages.push({
				key: { remoteJid: chat, fromMe: i % 3 === 0, id: `3EB0${i.toString(16).toUpperCase().padStart(18, '0')}` },
				timestamp: 1_700_000_000 + i,
				pushName: i % 3 === 0 ? undefined : 'Contact',
				status: i % 3 === 0 ? 4 : undefined,
				type: 'extendedTextMessage',
				text,
				content: { extendedTextMessage: { text, contextInfo: { expiration: 0 } } },
			})
		}
		batches.push(
			event(meta, 'session.history.sync', {
				messages,
				chats: [],
				contacts: [],
				lidPnMappings: [],
				syncType: 'INITIAL_BOOTSTRAP',
				progress: Math.round((100 * Math.min(count, start + perBatch)) / count),
			}),
		)
	}
	return batches
}
