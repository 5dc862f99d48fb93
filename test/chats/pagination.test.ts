import { afterAll, beforeAll, describe, expect, it } from 'bun:test'
import { domainEvent, type Chat, type Contact, type DomainEvent, type Message } from '../../src/core/catalogue'
import { startTestApp, type TestApp } from '../helpers/app'
import { createVerifiedUser } from '../helpers/accounts'
import { clientFor, type ApiSession, type Client } from '../helpers/sessions'
import { until } from '../helpers/until'

// Keyset pagination over data shaped to catch its classic bugs (ties on the sort key, NULLs at
// the end, a person filed under two JIDs), fed through the consumer as domain events: no runner.
let app: TestApp
let alice: Client
let session: ApiSession

const T0 = 1_767_225_600
const pn = (n: number) => `1555040${String(n).padStart(4, '0')}@s.whatsapp.net`
const lid = (n: number) => `9${String(n).padStart(14, '0')}@lid`

interface Item {
	[key: string]: unknown
}

async function walk(api: Client, path: string, limit: number): Promise<Item[]> {
	const items: Item[] = []
	let cursor: string | null = null
	const sep = path.includes('?') ? '&' : '?'
	do {
		const res: { status: number; body: { items: Item[]; nextCursor: string | null } } = await api.get(
			`${path}${sep}limit=${limit}${cursor ? `&cursor=${cursor}` : ''}`,
		)
		expect(res.status).toBe(200)
		items.push(...res.body.items)
		cursor = res.body.nextCursor
		if (cursor) expect(res.body.items.length).toBe(limit)
	} while (cursor)
	return items
}

const publish = (events: DomainEvent[]) => app.server.bus.publish(events)

// Another person's 45 messages, 15 to a second, that arrived in an order their ids do not follow;
// in the middle second, five stored before arrival numbers were kept (seq 0) among them.
const burst: Message[] = Array.from({ length: 45 }, (_, i) => ({
	key: { remoteJid: pn(2000), fromMe: i % 4 === 0, id: `B${String((i * 17) % 45).padStart(2, '0')}` },
	timestamp: T0 + 500 + Math.floor(i / 15),
	...(i >= 15 && i < 20 ? {} : { seq: 1_000 + i }),
	type: 'conversation',
	text: `burst ${i}`,
	content: { conversation: `burst ${i}` },
}))

beforeAll(async () => {
	app = await startTestApp({ ROLES: 'api,consumer' })
	alice = clientFor(app, await createVerifiedUser(app))
	session = (await alice.post<ApiSession>('/sessions', {})).body
	const meta = { tenantId: alice.user.user.tenantId, sessionId: session.id }

	// 150 chats: activity in groups of ten per second (ties), thirty without any activity.
	const chats: Chat[] = Array.from({ length: 150 }, (_, i) => ({
		jid: pn(i),
		name: `chat ${i}`,
		...(i < 120 ? { lastMessageAt: T0 + Math.floor(i / 10) } : {}),
	}))
	// 120 contacts: names differing only in case, push names only, and no name at all.
	const contacts: Contact[] = Array.from({ length: 120 }, (_, i) =>
		i < 40 ? { jid: pn(i), name: ['alice', 'Alice', 'ALICE', 'bob'][i % 4] } : i < 80 ? { jid: pn(i), notify: `push ${i % 7}` } : { jid: pn(i) },
	)
	// One person filed under two JIDs: messages from before the LID↔phone mapping was known sit under
	// the LID, later ones under the phone JID; a chat row exists for each.
	const early: Message[] = Array.from({ length: 60 }, (_, i) => ({
		key: { remoteJid: lid(1), fromMe: i % 2 === 0, id: `EARLY${i}` },
		timestamp: T0 + 1000 + Math.floor(i / 3),
		type: 'conversation',
		text: `early ${i}`,
		content: { conversation: `early ${i}` },
	}))
	const late: Message[] = Array.from({ length: 60 }, (_, i) => ({
		key: { remoteJid: lid(1), remoteJidAlt: pn(1000), fromMe: false, id: `LATE${i}` },
		timestamp: T0 + 1010 + Math.floor(i / 3),
		type: i === 0 ? 'imageMessage' : 'conversation',
		...(i === 0 ? {} : { text: `late ${i}` }),
		content: i === 0 ? { imageMessage: { mimetype: 'image/jpeg', caption: '' } } : { conversation: `late ${i}` },
	}))
	await publish([
		domainEvent('session.history.sync', meta, { messages: [], chats, contacts, lidPnMappings: [] }),
		domainEvent('session.messages.upsert', meta, { type: 'notify', messages: early }),
		domainEvent('session.history.sync', meta, { messages: late, chats: [], contacts: [], lidPnMappings: [{ lid: lid(1), pn: pn(1000) }] }),
		domainEvent('session.messages.upsert', meta, { type: 'notify', messages: burst }),
	])
	await until(
		async () =>
			(await walk(alice, '/chats', 200)).length === 152 &&
			(await alice.get(`/chats/${pn(1000)}/messages?limit=200`)).body.items?.length === 120 &&
			(await alice.get(`/chats/${pn(2000)}/messages?limit=200`)).body.items?.length === 45,
		'the consumer to store the events',
	)
})
afterAll(async () => {
	await app?.close()
})

describe('GET /chats', () => {
	it('pages by last activity, newest first, ties and chats without activity included, without gap or duplicate', async () => {
		const all = await walk(alice, '/chats', 200)
		// The LID-only chat stands behind the phone-number chat of the same person.
		expect(all.map((c) => c.jid)).not.toContain(lid(1))
		expect(all[0]).toMatchObject({ jid: pn(1000), lidJid: lid(1) })
		expect(all[1]).toMatchObject({ jid: pn(2000) })
		const times = all.map((c) => c.lastMessageAt as string | null)
		expect(times.slice(-30)).toEqual(Array(30).fill(null))
		for (let i = 1; i < 122; i++) expect(times[i - 1]! >= times[i]!).toBe(true)
		for (const limit of [1, 7, 10, 50]) expect(await walk(alice, '/chats', limit)).toEqual(all)
	})
})

describe('GET /chats/:jid/messages', () => {
	it('merges what a person wrote under the LID and under the phone number, newest first, page by page', async () => {
		const all = await walk(alice, `/chats/${pn(1000)}/messages`, 200)
		expect(all).toHaveLength(120)
		expect(new Set(all.map((m) => m.id)).size).toBe(120)
		expect(all.every((m) => m.chatJid === pn(1000))).toBe(true)
		for (let i = 1; i < all.length; i++) expect((all[i - 1]!.timestamp as string) >= (all[i]!.timestamp as string)).toBe(true)
		for (const limit of [1, 7, 50]) expect(await walk(alice, `/chats/${pn(1000)}/messages`, limit)).toEqual(all)
		expect(await walk(alice, `/chats/${lid(1)}/messages`, 13)).toEqual(all)
	})

	it('orders the messages of one second as they arrived, those without an arrival number by id after them, page by page', async () => {
		const all = await walk(alice, `/chats/${pn(2000)}/messages`, 200)
		const arrival = (id: string) => burst.findIndex((m) => m.key.id === id)
		const ids = all.map((m) => m.id as string)
		const bySecond = (s: number) => ids.filter((id) => Math.floor(arrival(id) / 15) === s)
		// Newest second first; within one, the last to arrive first.
		expect(bySecond(2)).toEqual(
			burst
				.slice(30)
				.map((m) => m.key.id)
				.reverse(),
		)
		expect(bySecond(0)).toEqual(
			burst
				.slice(0, 15)
				.map((m) => m.key.id)
				.reverse(),
		)
		const unnumbered = burst.slice(15, 20).map((m) => m.key.id)
		expect(bySecond(1)).toEqual([
			...burst
				.slice(20, 30)
				.map((m) => m.key.id)
				.reverse(),
			...unnumbered.sort().reverse(),
		])
		expect(ids).toEqual([...bySecond(2), ...bySecond(1), ...bySecond(0)])
		for (const limit of [1, 4, 7, 15, 16]) expect(await walk(alice, `/chats/${pn(2000)}/messages`, limit)).toEqual(all)
	})

	it("refuses another list's cursor and a changed one with 400", async () => {
		const chatsCursor = (await alice.get('/chats?limit=1')).body.nextCursor as string
		const messagesCursor = (await alice.get(`/chats/${pn(1000)}/messages?limit=1`)).body.nextCursor as string
		expect((await alice.get(`/chats/${pn(1000)}/messages?cursor=${chatsCursor}`)).body.error.code).toBe('INVALID_CURSOR')
		expect((await alice.get(`/chats/${pn(5)}/messages?cursor=${messagesCursor}`)).body.error.code).toBe('INVALID_CURSOR')
		expect((await alice.get(`/chats/${pn(1000)}/messages?cursor=x${messagesCursor}`)).body.error.code).toBe('INVALID_CURSOR')
	})

	it('gives the raw content only for types it does not model', async () => {
		const all = await walk(alice, `/chats/${pn(1000)}/messages`, 200)
		const image = all.find((m) => m.id === 'LATE0')
		expect(image).toMatchObject({ type: 'imageMessage', text: null, content: { imageMessage: { mimetype: 'image/jpeg' } } })
		expect(all.filter((m) => m.type === 'conversation').every((m) => m.content === null)).toBe(true)
	})
})

describe('GET /contacts', () => {
	it('pages by name case-insensitively, nameless contacts last, without gap or duplicate', async () => {
		const all = await walk(alice, '/contacts', 200)
		expect(all).toHaveLength(120)
		expect(new Set(all.map((c) => c.jid)).size).toBe(120)
		expect(all.slice(-40).every((c) => c.displayName === null)).toBe(true)
		expect(all.slice(0, 30).map((c) => (c.displayName as string).toLowerCase())).toEqual(Array(30).fill('alice'))
		for (const limit of [1, 7, 30]) expect(await walk(alice, '/contacts', limit)).toEqual(all)
	})

	it('searches names and push names with q, paginated the same way', async () => {
		const found = await walk(alice, '/contacts?q=ALI', 4)
		expect(found).toHaveLength(30)
		expect(await walk(alice, '/contacts?q=push%203', 2)).toHaveLength(5)
		// LIKE wildcards in q are taken literally.
		expect(await walk(alice, '/contacts?q=%25', 10)).toEqual([])
		expect(await walk(alice, '/contacts?q=_', 10)).toEqual([])
	})

	it('refuses a cursor of another search', async () => {
		const { body } = await alice.get('/contacts?q=alice&limit=2')
		expect((await alice.get(`/contacts?q=bob&limit=2&cursor=${body.nextCursor}`)).body.error.code).toBe('INVALID_CURSOR')
	})
})
