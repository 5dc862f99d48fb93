import { describe, expect, it } from 'bun:test'
import { normalizeMessageContent, proto, WAMessageStatus, WAMessageStubType, type WAMessage } from '@whiskeysockets/baileys'
import { MESSAGE_BATCH_MAX, validateEnvelope, domainEvent } from '../../src/core/catalogue'
import { CONTENT_WRAPPERS, editedContent } from '../../src/core/edited-content'
import {
	arrivalClock,
	ID_MAX,
	mapChat,
	mapContact,
	mapHistory,
	mapMessage,
	mapMessageUpdates,
	mapReceipts,
	mapUpsert,
	toWhatsAppEvents,
	unresolvedLids,
} from '../../src/whatsapp/mapping'

const ALICE = '15550001111@s.whatsapp.net'
const ALICE_LID = '123456789012345@lid'
const GROUP = '120363000000000001@g.us'
const META = { tenantId: Bun.randomUUIDv7(), sessionId: Bun.randomUUIDv7() }

/** A message as Baileys decodes it off the wire: encoded and decoded, so 64-bit fields are `Long`s. */
function wire(fields: proto.IWebMessageInfo): WAMessage {
	return proto.WebMessageInfo.decode(proto.WebMessageInfo.encode(fields).finish()) as WAMessage
}

/** A protobuf `Long`, as decoding a 64-bit field gives it. */
function long(n: number) {
	return wire({ key: {}, messageTimestamp: n }).messageTimestamp!
}

describe('messages', () => {
	it('maps a text message with a Long timestamp (history, own sends) to epoch seconds', () => {
		const m = wire({
			key: { remoteJid: ALICE, fromMe: false, id: '3A0001' },
			messageTimestamp: 1_767_225_600,
			pushName: 'Alice',
			message: { conversation: 'hello' },
		})
		expect(typeof m.messageTimestamp).toBe('object')
		expect(mapMessage(m)).toEqual({
			key: { remoteJid: ALICE, fromMe: false, id: '3A0001' },
			timestamp: 1_767_225_600,
			pushName: 'Alice',
			status: WAMessageStatus.DELIVERY_ACK,
			type: 'conversation',
			text: 'hello',
			kind: 'text',
			content: { conversation: 'hello' },
		})
	})

	it('gives a received message at least delivered, and keeps a status further along (read on the phone, in history)', () => {
		const received = (status?: number) =>
			mapMessage(wire({ key: { remoteJid: ALICE, fromMe: false, id: 'R1' }, messageTimestamp: 5, status, message: { conversation: 'x' } }))
		expect(received()?.status).toBe(WAMessageStatus.DELIVERY_ACK)
		expect(received(WAMessageStatus.SERVER_ACK)?.status).toBe(WAMessageStatus.DELIVERY_ACK)
		expect(received(WAMessageStatus.READ)?.status).toBe(WAMessageStatus.READ)
		expect(received(WAMessageStatus.PLAYED)?.status).toBe(WAMessageStatus.PLAYED)
		// An own message has the status its receipts gave it, or none.
		const own = mapMessage(wire({ key: { remoteJid: ALICE, fromMe: true, id: 'O1' }, messageTimestamp: 5, message: { conversation: 'x' } }))
		expect(own).not.toHaveProperty('status')
	})

	it('keeps the content of a plain text message as protobufjs writes it, off the wire or given as an object', () => {
		for (const m of [
			wire({ key: { remoteJid: ALICE, id: 'T1' }, message: { conversation: 'hi' } }),
			{ key: { remoteJid: ALICE, id: 'T2' }, message: { conversation: '' } },
		]) {
			const content = mapMessage(m as WAMessage)!.content
			expect(content).toEqual(proto.Message.fromObject(m.message!).toJSON())
			expect(proto.Message.fromObject(content!).conversation).toBe(m.message!.conversation!)
		}
		// Anything beside the text goes the long way.
		const withContext = mapMessage(
			wire({ key: { remoteJid: ALICE, id: 'T3' }, message: { conversation: 'hi', messageContextInfo: { deviceListMetadataVersion: 2 } } }),
		)
		expect(withContext!.content).toEqual({ conversation: 'hi', messageContextInfo: { deviceListMetadataVersion: 2 } })
	})

	it('reads text from extended text and captions, and names the type after the content key', () => {
		const ext = mapMessage(
			wire({ key: { remoteJid: ALICE, id: 'A' }, messageTimestamp: 5, message: { extendedTextMessage: { text: 'linked https://x.y' } } }),
		)
		expect(ext).toMatchObject({ type: 'extendedTextMessage', text: 'linked https://x.y' })
		const image = mapMessage(
			wire({ key: { remoteJid: ALICE, id: 'B' }, messageTimestamp: 5, message: { imageMessage: { caption: 'a cat', fileLength: 12345 } } }),
		)
		expect(image).toMatchObject({ type: 'imageMessage', text: 'a cat' })
		// Longs inside the content survive as strings (proto JSON), readable back with fromObject.
		expect((image!.content as { imageMessage: { fileLength: string } }).imageMessage.fileLength).toBe('12345')
		expect(proto.Message.fromObject(image!.content!).imageMessage?.caption).toBe('a cat')
	})

	it('unwraps ephemeral messages for type and text but keeps the raw content', () => {
		const m = mapMessage(
			wire({ key: { remoteJid: ALICE, id: 'E' }, messageTimestamp: 5, message: { ephemeralMessage: { message: { conversation: 'poof' } } } }),
		)
		expect(m).toMatchObject({ type: 'conversation', text: 'poof', content: { ephemeralMessage: { message: { conversation: 'poof' } } } })
	})

	it('keeps LID chats under both JIDs: the key’s alt, or the one the context knows', () => {
		const alone = mapMessage(wire({ key: { remoteJid: ALICE_LID, id: 'L1' }, messageTimestamp: 5, message: { conversation: 'x' } }))
		expect(alone!.key.remoteJidAlt).toBeUndefined()
		const m = wire({ key: { remoteJid: ALICE_LID, id: 'L2' }, messageTimestamp: 5, message: { conversation: 'x' } })
		m.key.remoteJidAlt = `${ALICE.split('@')[0]}:0@s.whatsapp.net`
		m.key.addressingMode = 'lid'
		expect(mapMessage(m)!.key).toEqual({ remoteJid: ALICE_LID, remoteJidAlt: ALICE, fromMe: false, id: 'L2' })
		const looked = mapMessage(wire({ key: { remoteJid: ALICE_LID, id: 'L3' }, messageTimestamp: 5, message: { conversation: 'x' } }), {
			altOf: (jid) => (jid === ALICE_LID ? ALICE : undefined),
		})
		expect(looked!.key.remoteJidAlt).toBe(ALICE)
	})

	it('keeps group participants, dropping the empty participant of 1:1 chats', () => {
		const group = wire({ key: { remoteJid: GROUP, id: 'G', participant: ALICE_LID }, messageTimestamp: 5, message: { conversation: 'hi all' } })
		group.key.participantAlt = ALICE
		expect(mapMessage(group)!.key).toEqual({ remoteJid: GROUP, fromMe: false, id: 'G', participant: ALICE_LID, participantAlt: ALICE })
		const direct = wire({ key: { remoteJid: ALICE, id: 'D', participant: '' }, messageTimestamp: 5, message: { conversation: 'x' } })
		expect(mapMessage(direct)!.key).not.toHaveProperty('participant')
	})

	it('skips protocol messages, stub-only entries and content without a known type', () => {
		const historyNotice = wire({
			key: { remoteJid: ALICE, fromMe: true, id: 'P' },
			messageTimestamp: 5,
			message: { protocolMessage: { type: proto.Message.ProtocolMessage.Type.HISTORY_SYNC_NOTIFICATION } },
		})
		const stub = wire({ key: { remoteJid: GROUP, id: 'S' }, messageTimestamp: 5, messageStubType: WAMessageStubType.GROUP_PARTICIPANT_ADD })
		const keyOnly = wire({ key: { remoteJid: GROUP, id: 'K' }, messageTimestamp: 5, message: { senderKeyDistributionMessage: { groupId: GROUP } } })
		expect(mapUpsert({ messages: [historyNotice, stub, keyOnly] })).toEqual({ messages: [], updates: [] })
	})

	it('skips a message whose id is longer than the store keeps, and says so', () => {
		const long = 'L'.repeat(ID_MAX + 1)
		const told: [string, string | null | undefined][] = []
		const ctx = { unstorable: (id: string, remoteJid: string | null | undefined) => void told.push([id, remoteJid]) }
		const messages = [long, 'L'.repeat(ID_MAX)].map((id) =>
			wire({ key: { remoteJid: ALICE, id }, messageTimestamp: 5, message: { conversation: 'hi' } }),
		)
		expect(mapUpsert({ messages }, ctx).messages.map((m) => m.key.id)).toEqual(['L'.repeat(ID_MAX)])
		expect(told).toEqual([[long, ALICE]])
	})

	it('turns a revoked placeholder in an upsert into a revoke of that message', () => {
		const revoked = wire({ key: { remoteJid: ALICE, fromMe: false, id: 'R' }, messageTimestamp: 5, messageStubType: WAMessageStubType.REVOKE })
		expect(mapUpsert({ messages: [revoked] })).toEqual({
			messages: [],
			updates: [{ key: { remoteJid: ALICE, fromMe: false, id: 'R' }, revoked: true }],
		})
	})

	it('numbers messages in the order they arrived, when the context gives numbers', () => {
		let n = 10
		const ctx = { nextSeq: () => ++n }
		const upsert = (ids: string[]) =>
			mapUpsert({ messages: ids.map((id) => wire({ key: { remoteJid: ALICE, id }, messageTimestamp: 5, message: { conversation: id } })) }, ctx)
		expect(upsert(['Z', 'A', 'M']).messages.map((m) => [m.key.id, m.seq])).toEqual([
			['Z', 11],
			['A', 12],
			['M', 13],
		])
		expect(upsert(['B']).messages[0]!.seq).toBe(14)
		expect(
			mapUpsert({ messages: [wire({ key: { remoteJid: ALICE, id: 'X' }, messageTimestamp: 5, message: { conversation: 'x' } })] }).messages[0],
		).not.toHaveProperty('seq')
	})

	it('draws arrival numbers that only grow: microseconds of the clock, or one more within one', () => {
		let now = 1_000
		const next = arrivalClock(() => now)
		expect([next(), next(), next()]).toEqual([1_000_000, 1_000_001, 1_000_002])
		now = 1_001
		expect(next()).toBe(1_001_000)
		now = 999
		expect(next()).toBe(1_001_001)
	})

	it('keeps the status an own send had when it was upserted', () => {
		const m = wire({
			key: { remoteJid: ALICE, fromMe: true, id: '3EB0' },
			messageTimestamp: 9,
			status: WAMessageStatus.SERVER_ACK,
			message: { conversation: 'x' },
		})
		expect(mapMessage(m)).toMatchObject({ status: 2, timestamp: 9 })
	})
})

describe('message updates', () => {
	const key = { remoteJid: ALICE, fromMe: true, id: '3EB0AA' }

	it('carries a receipt’s status and never its time', () => {
		const [u] = mapMessageUpdates([{ key, update: { status: WAMessageStatus.READ, messageTimestamp: 1_800_000_000 } }])
		expect(u).toEqual({ key, status: 4 })
	})

	it('maps a revoke (message null, stub REVOKE) as Baileys emits it for a protocol message', () => {
		const [u] = mapMessageUpdates([{ key: { ...key, fromMe: false }, update: { message: null, messageStubType: WAMessageStubType.REVOKE, key } }])
		expect(u).toEqual({ key: { ...key, fromMe: false }, revoked: true })
	})

	it('maps an edit with the new content and the edit’s own time', () => {
		const [u] = mapMessageUpdates([
			{
				key,
				update: {
					message: { editedMessage: { message: proto.Message.fromObject({ extendedTextMessage: { text: 'fixed typo' } }) } },
					messageTimestamp: long(1_767_225_700),
				},
			},
		])
		expect(u).toEqual({
			key,
			edit: { type: 'extendedTextMessage', text: 'fixed typo', content: { extendedTextMessage: { text: 'fixed typo' } }, editedAt: 1_767_225_700 },
		})
	})

	it('unwraps a message as Baileys does before an edit is set into it (the wrappers and their order)', () => {
		for (const [i, outer] of CONTENT_WRAPPERS.entries()) {
			const wrapped = { [outer]: { message: { conversation: 'inside' } } }
			expect(normalizeMessageContent(wrapped as proto.IMessage)).toEqual({ conversation: 'inside' })
			expect(editedContent(wrapped, 'edited')).toEqual({ [outer]: { message: { conversation: 'edited' } } })
			for (const later of CONTENT_WRAPPERS.slice(i + 1)) {
				const both = { [later]: { message: { conversation: 'second' } }, [outer]: { message: { conversation: 'first' } } }
				expect(normalizeMessageContent(both as proto.IMessage)).toEqual({ conversation: 'first' })
				expect(editedContent(both, 'edited')).toEqual({ ...both, [outer]: { message: { conversation: 'edited' } } })
			}
		}
	})

	it('ignores changes it does not model (poll votes, reactions, stub parameters)', () => {
		expect(
			mapMessageUpdates([
				{ key, update: { pollUpdates: [] } },
				{ key, update: { messageStubParameters: ['x'] } },
			]),
		).toEqual([])
	})

	it('turns group receipts into the furthest status any participant reached', () => {
		const updates = mapReceipts([
			{ key: { remoteJid: GROUP, fromMe: true, id: 'G1' }, receipt: { userJid: ALICE, receiptTimestamp: long(10) } },
			{ key: { remoteJid: GROUP, fromMe: true, id: 'G2' }, receipt: { userJid: ALICE, readTimestamp: 11 } },
			{ key: { remoteJid: GROUP, fromMe: true, id: 'G3' }, receipt: { userJid: ALICE, playedTimestamp: 12 } },
		])
		expect(updates.map((u) => [u.key.id, u.status])).toEqual([
			['G1', 3],
			['G2', 4],
			['G3', 5],
		])
	})

	it("reads the account's own receipt for a message it sent to a group as its phone having it, not as read", () => {
		const ME = '15550009999:4@s.whatsapp.net'
		const ME_LID = '99990009999:4@lid'
		const updates = mapReceipts(
			[
				{ key: { remoteJid: GROUP, fromMe: true, id: 'G1' }, receipt: { userJid: '15550009999@s.whatsapp.net', readTimestamp: 10 } },
				{ key: { remoteJid: GROUP, fromMe: true, id: 'G2' }, receipt: { userJid: '99990009999@lid', readTimestamp: 11 } },
				// The account read a member's message on its phone: that one is read.
				{
					key: { remoteJid: GROUP, fromMe: false, id: 'G3', participant: ALICE },
					receipt: { userJid: '15550009999@s.whatsapp.net', readTimestamp: 12 },
				},
			],
			{ me: ME, meLid: ME_LID },
		)
		expect(updates.map((u) => [u.key.id, u.status])).toEqual([
			['G1', 2],
			['G2', 2],
			['G3', 4],
		])
	})
})

describe('contacts and chats', () => {
	it('maps a contact with both identities and drops picture markers that are not URLs', () => {
		expect(mapContact({ id: ALICE_LID, phoneNumber: ALICE, notify: 'Alice', imgUrl: 'changed' })).toEqual({
			jid: ALICE_LID,
			lid: ALICE_LID,
			pn: ALICE,
			notify: 'Alice',
		})
		expect(mapContact({ id: ALICE, name: 'Alice Liddell', imgUrl: 'https://pps.whatsapp.net/x.jpg' })).toEqual({
			jid: ALICE,
			pn: ALICE,
			name: 'Alice Liddell',
			imgUrl: 'https://pps.whatsapp.net/x.jpg',
		})
		expect(mapContact({ name: 'no id' })).toBeUndefined()
	})

	it('reads a history conversation: both JIDs, absolute unread count, Long timestamps', () => {
		const chat = proto.Conversation.fromObject({
			id: ALICE_LID,
			pnJid: ALICE,
			displayName: 'Alice',
			unreadCount: 2,
			archived: false,
			conversationTimestamp: long(1_767_225_600),
		})
		expect(mapChat(chat)).toEqual({
			jid: ALICE_LID,
			lid: ALICE_LID,
			pn: ALICE,
			name: 'Alice',
			unreadCount: 2,
			archived: false,
			lastMessageAt: 1_767_225_600,
		})
	})

	it('in chats.update, takes unread count 0 (marked read) but not the per-message increments', () => {
		expect(mapChat({ id: ALICE, unreadCount: 1, conversationTimestamp: 7 }, { update: true })).toEqual({ jid: ALICE, pn: ALICE, lastMessageAt: 7 })
		expect(mapChat({ id: ALICE, unreadCount: 0 }, { update: true })).toEqual({ jid: ALICE, pn: ALICE, unreadCount: 0 })
	})
})

describe('history sync', () => {
	function history(messages: number, chats = 1) {
		const conversations = Array.from({ length: chats }, (_, c) =>
			proto.Conversation.fromObject({ id: `1555000${String(c).padStart(4, '0')}@s.whatsapp.net`, unreadCount: 0 }),
		)
		const msgs = Array.from({ length: messages }, (_, i) =>
			wire({
				key: { remoteJid: conversations[i % chats]!.id, fromMe: i % 2 === 0, id: `H${i}` },
				messageTimestamp: 1_700_000_000 + i,
				message: { conversation: `m${i}` },
			}),
		)
		return {
			chats: conversations,
			contacts: [],
			messages: msgs,
			lidPnMappings: [{ lid: ALICE_LID, pn: ALICE }],
			progress: 40,
			isLatest: true,
			syncType: proto.HistorySync.HistorySyncType.RECENT,
			chunkOrder: 2,
		}
	}

	it('splits a large chunk into batches of at most MESSAGE_BATCH_MAX messages, numbered, with progress', () => {
		const { batches } = mapHistory(history(1_234, 3))
		expect(batches.map((b) => b.messages.length)).toEqual([500, 500, 234])
		expect(batches.map((b) => b.part)).toEqual([
			{ index: 0, count: 3 },
			{ index: 1, count: 3 },
			{ index: 2, count: 3 },
		])
		for (const b of batches) expect(b).toMatchObject({ progress: 40, isLatest: true, syncType: 'RECENT', chunkOrder: 2 })
		expect(batches[0]!.chats).toHaveLength(3)
		expect(batches[1]!.chats).toHaveLength(0)
		expect(batches[0]!.lidPnMappings).toEqual([{ lid: ALICE_LID, pn: ALICE }])
		// Every batch is a valid catalogue event.
		for (const b of batches) expect(validateEnvelope(domainEvent('session.history.sync', META, b)).ok).toBe(true)
		expect(MESSAGE_BATCH_MAX).toBe(500)
	})

	it('reads a conversation without an unread count as none unread, as WhatsApp Web does', () => {
		const set = history(0)
		set.chats = [
			proto.Conversation.fromObject({ id: ALICE, name: 'Alice', archived: true }),
			proto.Conversation.fromObject({ id: `${ALICE.split('@')[0]!.slice(0, -1)}2@s.whatsapp.net`, unreadCount: 3 }),
		]
		expect(mapHistory(set).batches[0]!.chats.map((c) => [c.name, c.unreadCount, c.archived])).toEqual([
			['Alice', 0, true],
			[undefined, 3, undefined],
		])
	})

	it('numbers a conversation oldest first: WhatsApp lists it newest first, a list whose times rise is taken as it comes', () => {
		const set = history(0)
		const BOB = '15550002222@s.whatsapp.net'
		const at = (remoteJid: string, id: string, t: number) => wire({ key: { remoteJid, id }, messageTimestamp: t, message: { conversation: id } })
		// Alice's newest first, three in one second; Bob's oldest first; Carol's all in one second, newest first.
		set.messages = [at(ALICE, 'A3', 7), at(ALICE, 'A2', 7), at(ALICE, 'A1', 7), at(ALICE, 'A0', 6), at(BOB, 'B0', 1), at(BOB, 'B1', 2)]
		set.messages.push(at(GROUP, 'C1', 9), at(GROUP, 'C0', 9))
		let n = 0
		const [batch] = mapHistory(set, { nextSeq: () => ++n }).batches
		const seq = Object.fromEntries(batch!.messages.map((m) => [m.key.id, m.seq]))
		expect(seq.A0! < seq.A1! && seq.A1! < seq.A2! && seq.A2! < seq.A3!).toBe(true)
		expect(seq.B0! < seq.B1!).toBe(true)
		expect(seq.C0! < seq.C1!).toBe(true)
		expect(new Set(Object.values(seq)).size).toBe(8)
	})

	it('resolves LID chats of the chunk from its own mappings', () => {
		const set = history(0)
		set.messages = [wire({ key: { remoteJid: ALICE_LID, id: 'X' }, messageTimestamp: 5, message: { conversation: 'x' } })]
		expect(mapHistory(set).batches[0]!.messages[0]!.key.remoteJidAlt).toBe(ALICE)
	})
})

describe('a whole Baileys batch', () => {
	it('becomes valid catalogue events in reading order', () => {
		const events = toWhatsAppEvents({
			'messages.update': [{ key: { remoteJid: ALICE, fromMe: true, id: 'U' }, update: { status: 3 } }],
			'messages.upsert': {
				type: 'notify',
				messages: [wire({ key: { remoteJid: ALICE, id: 'N' }, messageTimestamp: 5, message: { conversation: 'new' } })],
			},
			'contacts.update': [{ id: ALICE, notify: 'Al' }],
			'chats.update': [{ id: ALICE, conversationTimestamp: 5, unreadCount: 1 }],
			'lid-mapping.update': { lid: ALICE_LID, pn: ALICE },
		})
		expect(events.map((e) => e.type)).toEqual([
			'session.contacts.upsert',
			'session.chats.upsert',
			'session.messages.upsert',
			'session.messages.update',
			'session.history.sync',
		])
		for (const e of events) expect(validateEnvelope(domainEvent(e.type, META, e.data as never)).ok).toBe(true)
	})

	it('lists the LIDs it needs looked up: chats and participants without their phone JID', () => {
		const m = wire({ key: { remoteJid: GROUP, id: 'G', participant: ALICE_LID }, messageTimestamp: 5, message: { conversation: 'x' } })
		expect(unresolvedLids({ 'messages.upsert': { type: 'notify', messages: [m] } })).toEqual([ALICE_LID])
	})
})
