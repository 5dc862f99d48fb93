import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'bun:test'
import { openPostgres, type Database } from '../../src/db/client'
import type { DomainEvent } from '../../src/core/catalogue'
import { isTransientDbError } from '../../src/db/errors'
import { applyEvents } from '../../src/db/projection'
import { purgeStep } from '../../src/modules/sessions/purge'
import { openTestDatabase, type OpenTestDatabase } from '../helpers/database'
import { ALICE, ALICE_LID, BOB, countMessages, createSession, event, GROUP, historyBatches, key, message, snapshot, type Meta } from './fixtures'

let testDb: OpenTestDatabase
let database: Database
let meta: Meta

beforeAll(async () => {
	testDb = await openTestDatabase(4)
	database = testDb.database
})
afterAll(() => testDb.close())
beforeEach(async () => {
	meta = await createSession(database.db)
})

const apply = (...events: DomainEvent[]) => applyEvents(database.db, events)
const messagesOf = async (sessionId = meta.sessionId) => (await snapshot(database.db, sessionId)).messages
const sessionOf = async (sessionId = meta.sessionId) => (await snapshot(database.db, sessionId)).session!

/** One of every event type the consumer stores, in the order a runner would emit them. */
function lifeOfASession(m: Meta): DomainEvent[] {
	return [
		event(m, 'session.created', { name: 'phone' }),
		event(m, 'session.qr.updated', { qr: 'qr-1' }),
		event(m, 'session.pairing_code.updated', { code: 'ABCD1234' }),
		event(m, 'session.status.connected', { jid: '4915100000099@s.whatsapp.net', lid: '999@lid', phoneNumber: '4915100000099' }),
		event(m, 'session.history.sync', {
			messages: [message('H1'), message('H2', { key: key('H2', { remoteJid: ALICE_LID, remoteJidAlt: ALICE }) })],
			chats: [{ jid: ALICE, name: 'Alice', unreadCount: 2, lastMessageAt: 1_767_225_000 }],
			contacts: [{ jid: ALICE, lid: ALICE_LID, name: 'Alice A.', notify: 'ally' }],
			lidPnMappings: [{ lid: ALICE_LID, pn: ALICE }],
			progress: 100,
			isLatest: true,
		}),
		event(m, 'session.messages.update', { updates: [{ key: key('M1'), status: 4 }] }),
		event(m, 'session.messages.upsert', { type: 'notify', messages: [message('M1', { status: 2, timestamp: 1_767_226_000 })] }),
		event(m, 'session.messages.upsert', {
			type: 'notify',
			messages: [message('G1', { key: key('G1', { remoteJid: GROUP, participant: ALICE_LID, participantAlt: ALICE }) })],
		}),
		event(m, 'session.messages.update', {
			updates: [
				{ key: key('H1'), edit: { type: 'conversation', text: 'edited', content: { conversation: 'edited' }, editedAt: 1_767_226_100 } },
				{ key: key('H2', { remoteJid: ALICE_LID, remoteJidAlt: ALICE }), revoked: true },
			],
		}),
		event(m, 'session.contacts.upsert', {
			contacts: [
				{ jid: BOB, name: 'Bob' },
				{ jid: ALICE, imgUrl: 'https://pps.example/alice.jpg' },
			],
		}),
		event(m, 'session.chats.upsert', { chats: [{ jid: ALICE, unreadCount: 0, archived: true }] }),
		event(m, 'session.command.failed', {
			commandId: Bun.randomUUIDv7(),
			command: 'session.messages.send',
			error: { code: 'NOT_CONNECTED', message: 'no' },
		}),
		event(m, 'session.status.disconnected', { status: 'reconnecting', reason: 'connection_lost', code: 428, message: 'Connection Closed' }),
	]
}

/** A deterministic permutation (mulberry32), so a failing order can be replayed. */
function shuffle<T>(items: readonly T[], seed: number): T[] {
	const out = [...items]
	let a = seed
	const random = () => {
		a = (a + 0x6d2b79f5) | 0
		let t = Math.imul(a ^ (a >>> 15), 1 | a)
		t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t
		return ((t ^ (t >>> 14)) >>> 0) / 4294967296
	}
	for (let i = out.length - 1; i > 0; i--) {
		const j = Math.floor(random() * (i + 1))
		;[out[i], out[j]] = [out[j]!, out[i]!]
	}
	return out
}

/** A snapshot without what differs between two sessions fed the same events: ids, names and write times. */
function comparable(s: Awaited<ReturnType<typeof snapshot>>) {
	const { id, tenantId, name, createdAt, updatedAt, ...session } = s.session!
	return {
		session,
		messages: s.messages.map(({ sessionId, createdAt, updatedAt, ...rest }) => rest),
		chats: s.chats.map(({ sessionId, ...rest }) => rest),
		contacts: s.contacts.map(({ sessionId, ...rest }) => rest),
		mappings: s.mappings.map(({ sessionId, ...rest }) => rest),
	}
}

describe('the consumer’s projection into Postgres', () => {
	it('stores what a session’s events say', async () => {
		for (const e of lifeOfASession(meta)) await apply(e)
		const s = await snapshot(database.db, meta.sessionId)
		expect(s.session).toMatchObject({
			status: 'reconnecting',
			jid: '4915100000099@s.whatsapp.net',
			lid: '999@lid',
			qr: null,
			pairingCode: null,
			lastDisconnectCode: 428,
			lastError: 'Connection Closed',
		})
		expect(s.messages.map((r) => [r.chatJid, r.messageId, r.text, r.status])).toEqual([
			[GROUP, 'G1', 'text of G1', null],
			[ALICE, 'H1', 'edited', null],
			[ALICE, 'H2', null, null],
			[ALICE, 'M1', 'text of M1', 4],
		])
		expect(s.messages.find((r) => r.messageId === 'G1')).toMatchObject({ senderJid: ALICE, senderAltJid: ALICE_LID })
		expect(s.chats.find((c) => c.jid === ALICE)).toMatchObject({ name: 'Alice', unreadCount: 0, archived: true, lidJid: ALICE_LID })
		expect(s.chats.find((c) => c.jid === ALICE)!.lastMessageAt).toEqual(new Date(1_767_226_000_000))
		expect(s.contacts.map((c) => [c.jid, c.name, c.notify, c.imgUrl, c.lidJid])).toEqual([
			[ALICE, 'Alice A.', 'ally', 'https://pps.example/alice.jpg', ALICE_LID],
			[BOB, 'Bob', null, null, null],
		])
		expect(s.mappings.map((r) => [r.lid, r.pn])).toEqual([[ALICE_LID, ALICE]])
	})

	it('changes nothing when any event is delivered again, alone or in a batch', async () => {
		const events = lifeOfASession(meta)
		for (const e of events) await apply(e)
		const before = await snapshot(database.db, meta.sessionId)
		for (const e of events) await apply(e)
		await apply(...events)
		await apply(...[...events].reverse())
		expect(await snapshot(database.db, meta.sessionId)).toEqual(before)
	})

	it('ends in the same state whatever order the events arrive in', async () => {
		const events = lifeOfASession(meta)
		for (const e of events) await apply(e)
		const expected = comparable(await snapshot(database.db, meta.sessionId))
		for (const seed of [1, 2, 3, 4, 5, 6]) {
			const other = await createSession(database.db, `shuffled-${seed}`)
			const same = events.map((e) => ({ ...e, sessionId: other.sessionId, tenantId: other.tenantId }) as DomainEvent)
			for (const e of shuffle(same, seed)) await apply(e)
			expect(comparable(await snapshot(database.db, other.sessionId))).toEqual(expected)
		}
	})

	describe('messages', () => {
		it('keeps a receipt that arrives before its message and fills the message in later', async () => {
			await apply(event(meta, 'session.messages.update', { updates: [{ key: key('R1'), status: 4 }] }))
			expect(await messagesOf()).toMatchObject([{ messageId: 'R1', status: 4, content: null, timestamp: null, text: null }])
			await apply(event(meta, 'session.messages.upsert', { type: 'notify', messages: [message('R1', { status: 2, timestamp: 1_767_000_000 })] }))
			expect(await messagesOf()).toMatchObject([
				{ messageId: 'R1', status: 4, text: 'text of R1', content: { conversation: 'text of R1' }, timestamp: new Date(1_767_000_000_000) },
			])
		})

		it('moves status only forward, with ERROR above PENDING and below SERVER_ACK', async () => {
			const status = async (...steps: number[]) => {
				const id = `S${Math.random()}`
				for (const s of steps) await apply(event(meta, 'session.messages.update', { updates: [{ key: key(id), status: s }] }))
				return (await messagesOf()).find((r) => r.messageId === id)!.status
			}
			expect(await status(4, 3)).toBe(4)
			expect(await status(1, 0)).toBe(0)
			expect(await status(0, 1)).toBe(0)
			expect(await status(0, 2)).toBe(2)
			expect(await status(5, 4, 0)).toBe(5)
		})

		it('never takes a receipt’s time for the message’s', async () => {
			await apply(event(meta, 'session.messages.upsert', { type: 'notify', messages: [message('T1', { timestamp: 1_767_000_000 })] }))
			await apply(event(meta, 'session.messages.update', { updates: [{ key: key('T1'), status: 3 }] }))
			expect((await messagesOf())[0]!.timestamp).toEqual(new Date(1_767_000_000_000))
		})

		it('applies the newest edit, whatever order edits and the message arrive in', async () => {
			const edit = (text: string, editedAt: number) =>
				event(meta, 'session.messages.update', {
					updates: [{ key: key('E1'), edit: { type: 'conversation', text, content: { conversation: text }, editedAt } }],
				})
			const second = edit('second edit', 2_000)
			const first = edit('first edit', 1_000)
			await apply(second)
			await apply(first)
			await apply(event(meta, 'session.messages.upsert', { type: 'notify', messages: [message('E1')] }))
			expect(await messagesOf()).toMatchObject([
				{ text: 'second edit', content: { conversation: 'second edit' }, editedAt: new Date(2_000_000), pushName: 'Alice' },
			])
		})

		it('sets an edit into the message as it was: a photo keeps its file, a text its type and quote, whatever the order', async () => {
			const file = { url: 'https://mmg.example/f.enc', mediaKey: 'a2V5', mimetype: 'image/jpeg', directPath: '/v/f.enc', fileSha256: 'c2hh' }
			const quote = { stanzaId: 'Q1', quotedMessage: { conversation: 'when?' } }
			const doc = { documentMessage: { ...file, mimetype: 'application/pdf', caption: 'draft' } }
			const upsert = (m: Meta, id: string, type: string, text: string, content: Record<string, unknown>) =>
				event(m, 'session.messages.upsert', { type: 'notify', messages: [message(id, { type, text, content })] })
			// What phones send: a caption edit names the caption alone, a text edit may come as a plain conversation.
			const edit = (m: Meta, id: string, content: Record<string, unknown>, text: string | undefined, editedAt: number) =>
				event(m, 'session.messages.update', {
					updates: [{ key: key(id), edit: { type: Object.keys(content)[0]!, content, editedAt, ...(text === undefined ? {} : { text }) } }],
				})
			const photo = (m: Meta) => upsert(m, 'P1', 'imageMessage', 'old cap', { imageMessage: { ...file, caption: 'old cap' } })
			const newer = (m: Meta) => edit(m, 'P1', { imageMessage: { caption: 'new cap' } }, 'new cap', 2_000)
			const older = (m: Meta) => edit(m, 'P1', { imageMessage: { caption: 'first cap' } }, 'first cap', 1_000)
			const reply = (m: Meta) => upsert(m, 'R1', 'extendedTextMessage', 'at 5', { extendedTextMessage: { text: 'at 5', contextInfo: quote } })
			const textEdit = (m: Meta) => edit(m, 'R1', { conversation: 'at 6' }, 'at 6', 1_000)
			const wanted = [
				{
					messageId: 'P1',
					type: 'imageMessage',
					text: 'new cap',
					content: { imageMessage: { ...file, caption: 'new cap' } },
					editedAt: new Date(2_000_000),
				},
				{ messageId: 'R1', type: 'extendedTextMessage', text: 'at 6', content: { extendedTextMessage: { text: 'at 6', contextInfo: quote } } },
			]

			// One batch each: the newest edit before the photo, an older one after, both again.
			await apply(newer(meta))
			await apply(photo(meta), older(meta))
			await apply(newer(meta), photo(meta), older(meta))
			await apply(reply(meta))
			await apply(textEdit(meta))
			expect(await messagesOf()).toMatchObject(wanted)

			// All in one batch: the same; a caption taken away is gone, in a wrapped message too.
			const other = await createSession(database.db, 'one-batch')
			await apply(
				newer(other),
				photo(other),
				older(other),
				textEdit(other),
				reply(other),
				upsert(other, 'D1', 'documentMessage', 'draft', { ephemeralMessage: { message: { documentWithCaptionMessage: { message: doc } } } }),
				edit(other, 'D1', { documentMessage: {} }, undefined, 1_000),
			)
			const { caption: _, ...uncaptioned } = doc.documentMessage
			expect(await messagesOf(other.sessionId)).toMatchObject([
				{
					messageId: 'D1',
					text: null,
					content: { ephemeralMessage: { message: { documentWithCaptionMessage: { message: { documentMessage: uncaptioned } } } } },
				},
				...wanted,
			])
			expect(JSON.stringify((await messagesOf(other.sessionId))[0]!.content)).not.toContain('caption')
		})

		it('keeps a revoked message cleared, even when the message is delivered again', async () => {
			const upsert = event(meta, 'session.messages.upsert', { type: 'notify', messages: [message('D1')] })
			await apply(upsert)
			await apply(event(meta, 'session.messages.update', { updates: [{ key: key('D1'), revoked: true }] }))
			await apply(upsert)
			const [row] = await messagesOf()
			expect(row).toMatchObject({ text: null, content: null, type: 'conversation' })
			expect(row!.revokedAt).toBeInstanceOf(Date)
		})

		it('files a LID-addressed message under the phone JID and records the mapping', async () => {
			await apply(
				event(meta, 'session.messages.upsert', {
					type: 'notify',
					messages: [message('L1', { key: key('L1', { remoteJid: ALICE_LID, remoteJidAlt: ALICE }) })],
				}),
			)
			const s = await snapshot(database.db, meta.sessionId)
			expect(s.messages).toMatchObject([{ chatJid: ALICE, senderJid: ALICE, senderAltJid: ALICE_LID }])
			expect(s.chats).toMatchObject([{ jid: ALICE, pnJid: ALICE, lidJid: ALICE_LID }])
			expect(s.mappings).toMatchObject([{ lid: ALICE_LID, pn: ALICE }])
		})

		it('writes a history sync batch of 500 messages in one go, and its chats’ last activity', async () => {
			const [batch] = historyBatches(meta, 500, { chats: 10 })
			const stats = await apply(batch!)
			expect(stats.messages).toBe(500)
			expect(await countMessages(database.db, meta.sessionId)).toBe(500)
			const s = await snapshot(database.db, meta.sessionId)
			expect(s.chats).toHaveLength(10)
			expect(s.chats[0]!.lastMessageAt).toEqual(new Date((1_700_000_000 + 490) * 1000))
		})

		it('merges two mentions of the same message within one batch', async () => {
			await apply(
				event(meta, 'session.messages.update', { updates: [{ key: key('B1'), status: 5 }] }),
				event(meta, 'session.messages.upsert', { type: 'append', messages: [message('B1', { status: 1 })] }),
				event(meta, 'session.messages.upsert', { type: 'notify', messages: [message('B1', { status: 2 })] }),
			)
			expect(await messagesOf()).toMatchObject([{ messageId: 'B1', status: 5, text: 'text of B1' }])
		})
	})

	describe('chats and contacts', () => {
		it('lets a newer event replace a field and an older one only fill gaps', async () => {
			const older = event(meta, 'session.chats.upsert', { chats: [{ jid: BOB, name: 'old name', unreadCount: 9, archived: false }] })
			const newer = event(meta, 'session.chats.upsert', { chats: [{ jid: BOB, name: 'new name' }] })
			await apply(newer)
			await apply(older)
			expect((await snapshot(database.db, meta.sessionId)).chats).toMatchObject([{ jid: BOB, name: 'new name', unreadCount: 9, archived: false }])
		})

		it('counts a chat’s unread messages: WhatsApp’s count, plus what was received after it and not read', async () => {
			const unread = async () => (await snapshot(database.db, meta.sessionId)).chats.find((c) => c.jid === ALICE)?.unreadCount
			const received = (id: string, timestamp: number) =>
				event(meta, 'session.messages.upsert', { type: 'notify', messages: [message(id, { timestamp, status: 3 })] })
			// History says two were unread as of its last message (time 1 000).
			await apply(event(meta, 'session.chats.upsert', { chats: [{ jid: ALICE, unreadCount: 2, lastMessageAt: 1_000 }] }))
			await apply(received('U0', 1_000))
			expect(await unread()).toBe(2)
			// Arrived later, in either order with their receipts; an own message never counts.
			await apply(event(meta, 'session.messages.update', { updates: [{ key: key('U2'), status: 4 }] }))
			await apply(received('U1', 1_001), received('U2', 1_002), received('U3', 1_003))
			await apply(
				event(meta, 'session.messages.upsert', { type: 'append', messages: [message('O1', { key: key('O1', { fromMe: true }), timestamp: 1_004 })] }),
			)
			expect(await unread()).toBe(4)
			await apply(event(meta, 'session.messages.update', { updates: [{ key: key('U1'), status: 4 }] }))
			expect(await unread()).toBe(3)
			// The phone marked the chat read: nothing before that counts any more.
			await apply(event(meta, 'session.chats.upsert', { chats: [{ jid: ALICE, unreadCount: 0, lastMessageAt: 1_003 }] }))
			expect(await unread()).toBe(0)
			await apply(received('U4', 1_005))
			expect(await unread()).toBe(1)
			// History sent again later still counts as of its own last message: the fresher count stays.
			await apply(event(meta, 'session.chats.upsert', { chats: [{ jid: ALICE, unreadCount: 2, lastMessageAt: 1_000 }] }))
			expect(await unread()).toBe(1)
		})

		it('counts unread messages right when the batches that change them commit side by side', async () => {
			const sessions = await Promise.all(Array.from({ length: 20 }, () => createSession(database.db)))
			const received = (m: Meta, id: string, timestamp: number) =>
				event(m, 'session.messages.upsert', { type: 'notify', messages: [message(id, { timestamp, status: 3 })] })
			await Promise.all(
				sessions.flatMap((m) => [
					apply(event(m, 'session.chats.upsert', { chats: [{ jid: ALICE, unreadCount: 1, lastMessageAt: 1_000 }] })),
					apply(received(m, 'P0', 999)),
					apply(received(m, 'P1', 1_001)),
					apply(received(m, 'P2', 1_002)),
					apply(received(m, 'P3', 1_003)),
					apply(event(m, 'session.messages.update', { updates: [{ key: key('P2'), status: 4 }] })),
				]),
			)
			// One reported, P1 and P3 after it and unread.
			for (const m of sessions) expect((await snapshot(database.db, m.sessionId)).chats).toMatchObject([{ jid: ALICE, unreadCount: 3 }])
		})

		it('moves a chat’s last activity only forward', async () => {
			await apply(event(meta, 'session.chats.upsert', { chats: [{ jid: BOB, lastMessageAt: 2_000 }] }))
			await apply(event(meta, 'session.chats.upsert', { chats: [{ jid: BOB, lastMessageAt: 1_000 }] }))
			expect((await snapshot(database.db, meta.sessionId)).chats[0]!.lastMessageAt).toEqual(new Date(2_000_000))
		})

		it('keys a contact by its phone JID when the event knows both forms', async () => {
			await apply(event(meta, 'session.contacts.upsert', { contacts: [{ jid: ALICE_LID, pn: ALICE, notify: 'ally' }] }))
			expect((await snapshot(database.db, meta.sessionId)).contacts).toMatchObject([{ jid: ALICE, pnJid: ALICE, lidJid: ALICE_LID, notify: 'ally' }])
		})

		it('shows both forms of a contact once the session knows the pair, whichever event taught it and in either order', async () => {
			const contact = event(meta, 'session.contacts.upsert', { contacts: [{ jid: ALICE, notify: 'ally' }] })
			const fromLid = event(meta, 'session.contacts.upsert', { contacts: [{ jid: ALICE_LID, notify: 'ally' }] })
			// A message addressed by LID with the phone JID beside it teaches the pair.
			const taught = event(meta, 'session.messages.upsert', {
				type: 'notify',
				messages: [message('F1', { key: key('F1', { remoteJid: ALICE_LID, remoteJidAlt: ALICE }) })],
			})
			await apply(contact, fromLid)
			await apply(taught)
			const later = await createSession(database.db)
			await apply(event(later, taught.type, taught.data))
			await apply(event(later, contact.type, contact.data), event(later, fromLid.type, fromLid.data))
			for (const sessionId of [meta.sessionId, later.sessionId])
				expect((await snapshot(database.db, sessionId)).contacts).toMatchObject([
					{ jid: ALICE_LID, pnJid: ALICE, lidJid: ALICE_LID },
					{ jid: ALICE, pnJid: ALICE, lidJid: ALICE_LID },
				])
		})

		it('shows both forms even when the batch with the contact and the batch with the mapping commit side by side', async () => {
			const sessions = await Promise.all(Array.from({ length: 20 }, () => createSession(database.db)))
			await Promise.all(
				sessions.flatMap((m) => [
					apply(event(m, 'session.contacts.upsert', { contacts: [{ jid: ALICE, notify: 'ally' }] })),
					apply(event(m, 'session.history.sync', { messages: [], chats: [], contacts: [], lidPnMappings: [{ lid: ALICE_LID, pn: ALICE }] })),
				]),
			)
			for (const m of sessions) expect((await snapshot(database.db, m.sessionId)).contacts).toMatchObject([{ jid: ALICE, lidJid: ALICE_LID }])
		})

		it('shows both forms of a chat known by phone JID once a mapping names its LID', async () => {
			await apply(event(meta, 'session.chats.upsert', { chats: [{ jid: ALICE, name: 'Alice' }] }))
			await apply(event(meta, 'session.history.sync', { messages: [], chats: [], contacts: [], lidPnMappings: [{ lid: ALICE_LID, pn: ALICE }] }))
			expect((await snapshot(database.db, meta.sessionId)).chats).toMatchObject([{ jid: ALICE, pnJid: ALICE, lidJid: ALICE_LID }])
		})
	})

	describe('sessions', () => {
		it('skips a status event older than the one applied last', async () => {
			const qr = event(meta, 'session.qr.updated', { qr: 'stale' })
			const connected = event(meta, 'session.status.connected', { jid: ALICE })
			await apply(connected)
			await apply(qr)
			expect(await sessionOf()).toMatchObject({ status: 'connected', qr: null, jid: ALICE })
		})

		it('records why a session was logged out', async () => {
			await apply(event(meta, 'session.status.disconnected', { status: 'logged_out', reason: 'logged_out', code: 401 }))
			expect(await sessionOf()).toMatchObject({ status: 'logged_out', lastDisconnectCode: 401, lastError: 'logged_out' })
		})

		it('orders events of the same millisecond by their id', async () => {
			const at = new Date('2026-06-01T00:00:00.000Z')
			const first = event(meta, 'session.qr.updated', { qr: 'first' }, at)
			const second = event(meta, 'session.qr.updated', { qr: 'second' }, at)
			await apply(second)
			await apply(first)
			expect((await sessionOf()).qr).toBe('second')
		})

		it('ends the session at once, leaves its rows to the purge, and drops its later events', async () => {
			await apply(...historyBatches(meta, 20))
			const stats = await apply(event(meta, 'session.deleted', {}))
			expect(stats.deletedSessions).toBe(1)
			expect((await sessionOf()).deletedAt).toBeInstanceOf(Date)
			let step = await purgeStep(database.db, meta.sessionId, 1_000)
			while (step === 'rows') step = await purgeStep(database.db, meta.sessionId, 1_000)
			expect(step).toBe('removed')
			expect(await countMessages(database.db, meta.sessionId)).toBe(0)
			expect((await snapshot(database.db, meta.sessionId)).session).toBeNull()
			const late = await apply(
				event(meta, 'session.messages.upsert', { type: 'notify', messages: [message('late')] }),
				event(meta, 'session.deleted', {}),
			)
			expect(late).toMatchObject({ dropped: 1, messages: 0, deletedSessions: 0 })
		})
	})
})

describe('failures of the projection', () => {
	it('tells a database that is away from an event Postgres refuses', async () => {
		const away = openPostgres({ url: 'postgres://postgres@127.0.0.1:1/nothing', max: 1 })
		const unreachable = await applyEvents(away.db, [event(meta, 'session.qr.updated', { qr: 'x' })]).catch((err) => err)
		await away.close()
		expect(isTransientDbError(unreachable)).toBe(true)
		const refused = await apply(event(meta, 'session.messages.upsert', { type: 'notify', messages: [message('N', { text: 'nul \u0000' })] })).catch(
			(err) => err,
		)
		expect(refused).toBeInstanceOf(Error)
		expect(isTransientDbError(refused)).toBe(false)
	})
})
