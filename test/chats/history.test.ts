import { afterAll, beforeAll, describe, expect, it } from 'bun:test'
import type { HistoryConversation } from '@switchboard/standin'
import { expectError } from '../helpers/accounts'
import { pairedSession, startSessionsWorld, type ApiSession, type Client, type SessionsWorld } from '../helpers/sessions'
import { until } from '../helpers/until'

// A linked phone pushes its history; the chats, messages and contacts the runner and consumer
// store from it are read back through the API.
let world: SessionsWorld
let alice: Client
let session: ApiSession

const PHONE = '15550200000'
const ADA = '15550200001'
const BOB = '15550200002'
const CLEO = '15550200003'
const jid = (phone: string) => `${phone}@s.whatsapp.net`

// 1,000 messages five to a second, so pages split inside a second and the keyset needs its tie-breakers.
const base = Math.floor(Date.now() / 1000) - 10_000
const adaMessages = Array.from({ length: 1000 }, (_, i) => ({
	id: `ADA${String(i).padStart(4, '0')}`,
	text: `Ada #${i}`,
	fromMe: i % 4 === 3,
	timestamp: base + Math.floor(i / 5),
}))
const conversations: HistoryConversation[] = [
	{ with: ADA, name: 'Ada Lovelace', messages: adaMessages },
	{ with: BOB, name: 'bob', messages: [{ id: 'BOB1', text: 'hi from bob', timestamp: base + 5000 }] },
]

interface ApiMessage {
	id: string
	chatJid: string
	fromMe: boolean
	sender: string | null
	timestamp: string
	type: string
	text: string | null
	status: string | null
	content: unknown
}

async function allMessages(api: Client, chat: string, limit: number) {
	const seen: ApiMessage[] = []
	let cursor: string | null = null
	let pages = 0
	do {
		const res: { status: number; body: { items: ApiMessage[]; nextCursor: string | null } } = await api.get(
			`/chats/${chat}/messages?limit=${limit}${cursor ? `&cursor=${cursor}` : ''}`,
		)
		expect(res.status).toBe(200)
		expect(res.body.items.length).toBeLessThanOrEqual(limit)
		seen.push(...res.body.items)
		cursor = res.body.nextCursor
		pages++
	} while (cursor)
	return { seen, pages }
}

beforeAll(async () => {
	world = await startSessionsWorld()
	alice = await world.tenant()
	session = await pairedSession(world, alice, PHONE)
	await world.standIn.pushHistory({ to: PHONE, conversations, chunkSize: 400 })
	await world.standIn.pushHistory({
		to: PHONE,
		addressing: 'lid',
		conversations: [{ with: CLEO, name: 'Cleo', messages: [{ id: 'CLEO1', text: 'from my lid', timestamp: base + 6000 }] }],
	})
	// The last history batch is in the stream; the consumer's rows follow it.
	await until(
		async () => (await alice.get('/chats')).body.items?.length >= 3 && (await alice.get(`/chats/${ADA}/messages?limit=1`)).status === 200,
		'the history in the API',
	)
	await until(async () => (await allMessages(alice, jid(ADA), 200)).seen.length === 1000, 'all 1,000 messages')
})
afterAll(async () => {
	await world?.close()
})

describe('chats from a history sync', () => {
	it('lists chats by last activity, newest first, with their names', async () => {
		const res = await alice.get('/chats')
		expect(res.status).toBe(200)
		const items = res.body.items as { jid: string; name: string | null; lastMessageAt: string | null }[]
		expect(items.map((c) => c.jid)).toEqual([jid(CLEO), jid(BOB), jid(ADA)])
		expect(items.find((c) => c.jid === jid(ADA))).toMatchObject({
			name: 'Ada Lovelace',
			displayName: 'Ada Lovelace',
			lastMessageAt: new Date((base + 199) * 1000).toISOString(),
		})
		expect(res.body.nextCursor).toBeNull()
	})

	it("shows each chat's newest message, whichever form of the person's JID it is filed under", async () => {
		const { body } = await alice.get('/chats')
		const previews = Object.fromEntries((body.items as { jid: string; lastMessage: unknown }[]).map((c) => [c.jid, c.lastMessage]))
		expect(previews[jid(ADA)]).toEqual({
			id: 'ADA0999',
			fromMe: true,
			sender: null,
			pushName: null,
			kind: 'text',
			text: 'Ada #999',
			timestamp: new Date((base + 199) * 1000).toISOString(),
			status: expect.any(String),
			revoked: false,
		})
		expect(previews[jid(BOB)]).toMatchObject({ id: 'BOB1', fromMe: false, sender: jid(BOB), pushName: 'bob', text: 'hi from bob' })
		expect(previews[jid(CLEO)]).toMatchObject({ id: 'CLEO1', text: 'from my lid', timestamp: new Date((base + 6000) * 1000).toISOString() })
	})

	it('pages through 1,000 messages newest first without a gap or a duplicate, whatever the page size', async () => {
		for (const limit of [200, 7]) {
			const { seen, pages } = await allMessages(alice, jid(ADA), limit)
			expect(pages).toBe(Math.ceil(1000 / limit))
			expect(new Set(seen.map((m) => m.id)).size).toBe(1000)
			expect(seen.map((m) => m.id).sort()).toEqual(adaMessages.map((m) => m.id).sort())
			for (let i = 1; i < seen.length; i++) expect(seen[i - 1]!.timestamp >= seen[i]!.timestamp).toBe(true)
		}
	})

	it('shows each message with its sender, time, type, text and status', async () => {
		const { body } = await alice.get(`/chats/${jid(ADA)}/messages?limit=2`)
		// Both from the newest second; within a second the last the phone had comes first.
		const [own, incoming] = body.items as ApiMessage[]
		// seq says the same order: the one listed first arrived later.
		expect((own as unknown as { seq: number }).seq).toBeGreaterThan((incoming as unknown as { seq: number }).seq)
		expect(incoming).toEqual({
			id: 'ADA0998',
			chatJid: jid(ADA),
			fromMe: false,
			sender: jid(ADA),
			senderPn: jid(ADA),
			senderLid: world.standIn.lidOf(ADA),
			pushName: 'Ada Lovelace',
			timestamp: new Date((base + 199) * 1000).toISOString(),
			seq: expect.any(Number),
			type: 'conversation',
			text: 'Ada #998',
			status: 'delivered',
			editedAt: null,
			revoked: false,
			kind: 'text',
			media: null,
			location: null,
			contacts: null,
			poll: null,
			replyTo: null,
			reactions: [],
			content: null,
		} as ApiMessage)
		expect(own).toMatchObject({ id: 'ADA0999', fromMe: true, sender: null, pushName: null, status: 'read', text: 'Ada #999' })
	})

	it('resolves a LID and its phone number to the same chat', async () => {
		const lid = world.standIn.lidOf(CLEO)
		const byLid = await alice.get(`/chats/${encodeURIComponent(lid)}/messages`)
		const byPhone = await alice.get(`/chats/${jid(CLEO)}/messages`)
		const byNumber = await alice.get(`/chats/${encodeURIComponent('+1 555-020 0003')}/messages`)
		expect(byLid.status).toBe(200)
		expect(byLid.body.items.map((m: ApiMessage) => m.id)).toEqual(['CLEO1'])
		expect(byPhone.body).toEqual(byLid.body)
		expect(byNumber.body).toEqual(byLid.body)
		expect(byLid.body.items[0].chatJid).toBe(jid(CLEO))
	})

	it('lists the contacts by name, and finds them by name or number', async () => {
		const res = await alice.get('/contacts')
		expect(res.status).toBe(200)
		const names = (res.body.items as { displayName: string }[]).map((c) => c.displayName)
		expect(names).toEqual(expect.arrayContaining(['Ada Lovelace', 'bob', 'Cleo']))
		expect(names.indexOf('Ada Lovelace')).toBeLessThan(names.indexOf('bob'))
		expect(names.indexOf('bob')).toBeLessThan(names.indexOf('Cleo'))
		expect((await alice.get('/contacts?q=LOVE')).body.items.map((c: { jid: string }) => c.jid)).toEqual([jid(ADA)])
		expect((await alice.get(`/contacts?q=${encodeURIComponent('+1 555 020 0002')}`)).body.items.map((c: { jid: string }) => c.jid)).toEqual([
			jid(BOB),
		])
		expect((await alice.get('/contacts?q=nobody-by-that-name')).body).toEqual({ items: [], nextCursor: null })
	})

	it('finds one contact by its phone-number JID, its LID or its number', async () => {
		const byLid = await alice.get(`/contacts/${encodeURIComponent(world.standIn.lidOf(CLEO))}`)
		expect(byLid.status).toBe(200)
		expect(byLid.body).toMatchObject({ jid: jid(CLEO), lidJid: world.standIn.lidOf(CLEO), displayName: 'Cleo' })
		expect((await alice.get(`/contacts/${jid(CLEO)}`)).body).toEqual(byLid.body)
		expect((await alice.get(`/contacts/${encodeURIComponent('+1 555-020 0003')}`)).body).toEqual(byLid.body)
		expect((await alice.get(`/contacts/${ADA}`)).body).toMatchObject({ jid: jid(ADA), displayName: 'Ada Lovelace' })
		await expectError(await alice.fetch(`/contacts/${jid('15550299999')}`), 404, 'NOT_FOUND')
	})

	it('answers 404 for a chat the session does not have', async () => {
		await expectError(await alice.fetch(`/chats/${jid('15550299999')}/messages`), 404, 'NOT_FOUND')
	})
})

describe('another tenant', () => {
	it('sees none of it: its lists are its own, and naming the session answers 404', async () => {
		const mallory = await world.tenant()
		await expectError(await mallory.fetch('/chats'), 404, 'NOT_FOUND')
		await mallory.post('/sessions', {})
		expect((await mallory.get('/chats')).body).toEqual({ items: [], nextCursor: null })
		expect((await mallory.get('/contacts')).body).toEqual({ items: [], nextCursor: null })
		await expectError(await mallory.fetch(`/chats/${jid(ADA)}/messages`), 404, 'NOT_FOUND')
		for (const path of [`/chats?sessionId=${session.id}`, `/contacts?sessionId=${session.id}`, `/chats/${jid(ADA)}/messages?sessionId=${session.id}`])
			await expectError(await mallory.fetch(path), 404, 'NOT_FOUND')
		// Nor can it reuse alice's cursors against its own session.
		const { body } = await alice.get(`/chats/${jid(ADA)}/messages?limit=1`)
		await expectError(await mallory.fetch(`/chats?cursor=${body.nextCursor}`), 400, 'INVALID_CURSOR')
	})
})
