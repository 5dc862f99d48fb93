import { afterAll, beforeAll, describe, expect, it } from 'bun:test'
import { eq } from 'drizzle-orm'
import type { Chat, Contact, DomainEvent, Message, MessageUpdate } from '../../src/core/catalogue'
import { domainEvent } from '../../src/core/catalogue'
import { applyStatusEvent, isStatusEvent, STATUS_EVENT_TYPES, type VersionedSession } from '../../src/core/session-status'
import type { Db } from '../../src/db/client'
import { applyEvents } from '../../src/db/projection'
import { sessions } from '../../src/db/schema'
import { openTestDatabase, type OpenTestDatabase } from '../helpers/database'
import { ALICE, ALICE_LID, BOB, createSession, snapshot, type Meta } from './fixtures'

/**
 * The projection merges rows twice over: in JS when two events of one batch touch the same row,
 * in SQL when an event meets a stored row. Both must give the same row, so a batch applied at once
 * and the same events applied one batch each are compared on generated cases. Likewise the status
 * machine runs in SQL (the consumer) and in memory (the WebSocket snapshot).
 */

let t: OpenTestDatabase
let db: Db
beforeAll(async () => {
	t = await openTestDatabase()
	db = t.database.db
})
afterAll(() => t?.close())

/** A small seeded generator, so a failing case can be replayed from its seed. */
function random(seed: number) {
	let a = seed >>> 0
	const next = () => {
		a = (a + 0x6d2b79f5) >>> 0
		let x = Math.imul(a ^ (a >>> 15), 1 | a)
		x = (x + Math.imul(x ^ (x >>> 7), 61 | x)) ^ x
		return ((x ^ (x >>> 14)) >>> 0) / 4_294_967_296
	}
	const int = (n: number) => Math.floor(next() * n)
	return { int, pick: <T>(items: readonly T[]) => items[int(items.length)]!, maybe: <T>(value: T) => (next() < 0.5 ? value : undefined) }
}

type Rand = ReturnType<typeof random>
type Spec = { type: DomainEvent['type']; data: DomainEvent['data']; at: number }

const BASE = Date.parse('2026-03-01T12:00:00Z')
const IDS = ['M1', 'M2']

function messageKey(r: Rand, id: string) {
	// The same person by phone number, by LID, or by LID with the phone number beside it.
	const form = r.int(3)
	const remoteJid = form === 0 ? ALICE : ALICE_LID
	// Mostly received: a chat's unread count counts those against the count WhatsApp reported.
	return { remoteJid, ...(form === 2 ? { remoteJidAlt: ALICE } : {}), fromMe: r.int(4) === 0, id }
}

/** A message's content of each type an edit changes, plain or wrapped (as a disappearing chat sends it). */
function genContent(r: Rand, text: string): Pick<Message, 'type' | 'content'> {
	const file = { url: 'https://mmg.example/f.enc', mediaKey: 'a2V5', mimetype: 'image/jpeg' }
	const [type, inner] = r.pick([
		['conversation', { conversation: text }],
		['extendedTextMessage', { extendedTextMessage: { text, contextInfo: { stanzaId: 'Q1' } } }],
		['imageMessage', { imageMessage: { ...file, ...(r.maybe({ caption: text }) ?? {}) } }],
		['documentMessage', { documentWithCaptionMessage: { message: { documentMessage: { ...file, caption: text } } } }],
		['locationMessage', { locationMessage: { degreesLatitude: 1 } }],
	] as const)
	return { type, content: r.maybe({ ephemeralMessage: { message: inner } }) ?? inner }
}

function genMessage(r: Rand): Message {
	const text = r.pick(['hello', 'hi there', 'third text'])
	return {
		key: messageKey(r, r.pick(IDS)),
		timestamp: 1_770_000_000 + r.int(3),
		...(r.maybe({ seq: 1 + r.int(3) }) ?? {}),
		...(r.maybe({ pushName: r.pick(['Alice', 'Alice W.']) }) ?? {}),
		...(r.maybe({ status: r.int(6) }) ?? {}),
		text,
		...genContent(r, text),
		kind: 'text',
		...(r.maybe({ replyTo: { id: r.pick(IDS) } }) ?? {}),
		...(r.maybe({
			kind: 'image' as const,
			media: {
				id: r.pick(['0197f0c2-3a4b-7c5d-8e9f-0a1b2c3d4e5f', '0197f0c2-3a4b-7c5d-8e9f-0a1b2c3d4e60']),
				kind: 'image' as const,
				mimetype: 'image/jpeg',
				state: 'pending' as const,
			},
		}) ?? {}),
		...(r.maybe({
			kind: 'location' as const,
			location: { latitude: r.int(90), longitude: r.int(180), ...(r.maybe({ name: 'Office' }) ?? {}) },
		}) ?? {}),
	}
}

function genUpdate(r: Rand): MessageUpdate {
	const key = messageKey(r, r.pick(IDS))
	switch (r.int(5)) {
		case 0:
			return { key, status: r.int(6) }
		case 3:
			// Few senders, times and emoji, so that ties are common.
			return { key, reaction: { sender: r.pick([ALICE, BOB]), emoji: r.pick(['', '👍', '❤️']), at: 1_770_000_000 + r.int(2) / 2 } }
		case 4:
			return {
				key,
				pollVote: {
					voter: r.pick([ALICE, BOB]),
					options: r.pick([[], ['a'.repeat(64)], ['b'.repeat(64), 'a'.repeat(64)]]),
					at: 1_770_000_000 + r.int(2),
				},
			}
		case 1: {
			// As phones send them: the new text alone, or a caption edit naming only the caption (or none).
			const text = r.maybe(r.pick(['edited once', 'edited twice']))
			const content = r.pick([
				{ conversation: text ?? '' },
				{ extendedTextMessage: { text } },
				{ imageMessage: text === undefined ? {} : { caption: text } },
			])
			return { key, edit: { type: Object.keys(content)[0]!, ...(text === undefined ? {} : { text }), content, editedAt: 1_770_000_100 + r.int(3) } }
		}
		default:
			return { key, revoked: true }
	}
}

function genChat(r: Rand): Chat {
	return {
		jid: r.pick([ALICE, ALICE_LID]),
		...(r.maybe({ lid: ALICE_LID }) ?? {}),
		...(r.maybe({ pn: ALICE }) ?? {}),
		...(r.maybe({ name: r.pick(['Alice', 'Alice (work)']) }) ?? {}),
		...(r.maybe({ unreadCount: r.int(4) }) ?? {}),
		...(r.maybe({ archived: r.int(2) === 1 }) ?? {}),
		...(r.maybe({ lastMessageAt: 1_770_000_000 + r.int(5) }) ?? {}),
	}
}

function genContact(r: Rand): Contact {
	return {
		jid: r.pick([ALICE, ALICE_LID]),
		...(r.maybe({ lid: ALICE_LID }) ?? {}),
		...(r.maybe({ pn: ALICE }) ?? {}),
		...(r.maybe({ name: r.pick(['Alice', 'A.']) }) ?? {}),
		...(r.maybe({ notify: r.pick(['alice', 'ally']) }) ?? {}),
		...(r.maybe({ verifiedName: 'Alice Inc' }) ?? {}),
	}
}

function genSpec(r: Rand): Spec {
	// Few distinct times, so ties (which the merges must break the same way) are common.
	const at = BASE + r.int(4) * 1_000
	switch (r.int(5)) {
		case 0:
			return { type: 'session.messages.upsert', data: { messages: [genMessage(r)], type: r.pick(['notify', 'append'] as const) }, at }
		case 1:
			return { type: 'session.messages.update', data: { updates: [genUpdate(r)] }, at }
		case 2:
			return { type: 'session.chats.upsert', data: { chats: [genChat(r)] }, at }
		case 3:
			return { type: 'session.contacts.upsert', data: { contacts: [genContact(r)] }, at }
		default:
			return {
				type: 'session.history.sync',
				data: {
					messages: [genMessage(r)],
					chats: [genChat(r)],
					contacts: [genContact(r)],
					lidPnMappings: r.maybe([{ lid: ALICE_LID, pn: ALICE }]) ?? [],
				},
				at,
			}
	}
}

const toEvent = (meta: Meta, spec: Spec) => domainEvent(spec.type, { ...meta, occurredAt: new Date(spec.at) }, spec.data as never) as DomainEvent

/** Stored rows without the columns that record wall-clock write times. */
async function rows(sessionId: string) {
	const { messages, chats, contacts, mappings, reactions, votes } = await snapshot(db, sessionId)
	return {
		reactions: reactions.map(({ sessionId: _, ...x }) => x),
		votes: votes.map(({ sessionId: _, ...x }) => x),
		messages: messages.map(({ sessionId: _, createdAt: _c, updatedAt: _u, ...m }) => m),
		chats: chats.map(({ sessionId: _, ...c }) => c),
		contacts: contacts.map(({ sessionId: _, ...c }) => c),
		mappings: mappings.map(({ sessionId: _, ...m }) => m),
	}
}

// The tests below run many generated cases against PostgreSQL, seconds of work alone (about 3 s
// here) and over 30 s beside the browser tests of a full run on a busy host: each carries its own
// timeout, since a file after the first gets Bun's 5 s default whatever the preload sets.
describe('the JS and SQL merges of the projection', () => {
	it('give the same rows whether events meet within one batch or one batch each', async () => {
		for (let seed = 1; seed <= 150; seed++) {
			const r = random(seed)
			const specs = Array.from({ length: 2 + r.int(4) }, () => genSpec(r))
			const together = await createSession(db, `together-${seed}`)
			const apart = await createSession(db, `apart-${seed}`)
			await applyEvents(
				db,
				specs.map((s) => toEvent(together, s)),
			)
			for (const s of specs) await applyEvents(db, [toEvent(apart, s)])
			const [a, b] = await Promise.all([rows(together.sessionId), rows(apart.sessionId)])
			expect({ seed, ...a }).toEqual({ seed, ...b })
		}
	}, 120_000)
})

describe('the status machine in SQL and in memory', () => {
	const genStatus = (r: Rand, meta: Meta): DomainEvent => {
		const occurredAt = new Date(BASE + r.int(4) * 1_000)
		const type = r.pick(STATUS_EVENT_TYPES)
		switch (type) {
			case 'session.qr.updated':
				return domainEvent(type, { ...meta, occurredAt }, { qr: r.pick(['qr-1', 'qr-2']) })
			case 'session.pairing_code.updated':
				return domainEvent(type, { ...meta, occurredAt }, { code: r.pick(['ABCD1234', 'WXYZ9876']) })
			case 'session.status.connected':
				return domainEvent(
					type,
					{ ...meta, occurredAt },
					{
						jid: r.pick([ALICE, `${ALICE.split('@')[0]}:2@s.whatsapp.net`]),
						...(r.maybe({ lid: ALICE_LID }) ?? {}),
						...(r.maybe({ runner: 'runner-a' }) ?? {}),
					},
				)
			case 'session.status.disconnected':
				return domainEvent(
					type,
					{ ...meta, occurredAt },
					{
						status: r.pick(['reconnecting', 'stopped', 'logged_out', 'failed'] as const),
						reason: 'connection_lost',
						...(r.maybe({ code: 428 }) ?? {}),
					},
				)
		}
	}

	it('leaves a session in the same state, whatever the order of its status events', async () => {
		for (let seed = 1; seed <= 100; seed++) {
			const r = random(1_000 + seed)
			const meta = await createSession(db, `status-${seed}`)
			const events = Array.from({ length: 1 + r.int(5) }, () => genStatus(r, meta))
			const [before] = await db.select().from(sessions).where(eq(sessions.id, meta.sessionId))
			const inMemory: VersionedSession = { ...before! }
			for (const e of events) if (isStatusEvent(e)) applyStatusEvent(inMemory, e)
			for (const e of events) await applyEvents(db, [e])
			const [stored] = await db.select().from(sessions).where(eq(sessions.id, meta.sessionId))
			const state = (s: VersionedSession) => ({
				status: s.status,
				jid: s.jid,
				lid: s.lid,
				phoneNumber: s.phoneNumber,
				qr: s.qr,
				pairingCode: s.pairingCode,
				lastError: s.lastError,
				lastDisconnectCode: s.lastDisconnectCode,
				ownerRunner: s.ownerRunner,
				lastEventAt: s.lastEventAt?.toISOString() ?? null,
				lastEventId: s.lastEventId,
			})
			expect({ seed, ...state(inMemory) }).toEqual({ seed, ...state(stored!) })
		}
	}, 120_000)
})
