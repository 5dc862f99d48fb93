import { afterAll, beforeAll, describe, expect, it } from 'bun:test'
import { compareIds } from '../../src/bus'
import { CONSUMER_GROUP, DOMAIN_EVENTS } from '../../src/core/streams'
import { pairedSession, startSessionsWorld, type Client, type SessionsWorld } from '../helpers/sessions'
import { until } from '../helpers/until'
import { openSocket, type TestSocket, type WsMessage } from '../helpers/ws'

// Live WhatsApp traffic through the stand-in and the real Baileys socket, read back the way a
// client reads it: REST lists and the WebSocket's events.
let world: SessionsWorld
let alice: Client
let ws: TestSocket

const PHONE = '15550400000'
const jid = (phone: string) => `${phone}@s.whatsapp.net`

interface ApiMessage {
	id: string
	fromMe: boolean
	status: string | null
	text: string | null
	timestamp: string
}

async function messages(chat: string, limit = 50): Promise<ApiMessage[]> {
	const res = await alice.get(`/chats/${chat}/messages?limit=${limit}`)
	return res.status === 200 ? res.body.items : []
}

/** The message once the consumer has stored it, with `status` when given. */
function stored(chat: string, id: string, status?: string) {
	return until(
		async () => (await messages(chat)).find((m) => m.id === id && (!status || m.status === status)),
		`message ${id} in ${chat}${status ? ` as ${status}` : ''}`,
	)
}

/** The next WebSocket event of `type` that names message `id`. */
const wsEvent = (type: string, id: string) =>
	ws.next((m: WsMessage) => m.type === type && JSON.stringify(m.data).includes(`"id":"${id}"`), 15_000) as Promise<WsMessage>

/** Resolves once the consumer has applied the entry at stream position `id` (its loops run side by side). */
function consumed(id: string) {
	return until(async () => {
		const progress = await world.app.server.bus.groupProgress(DOMAIN_EVENTS, CONSUMER_GROUP)
		return progress !== null && compareIds(progress.lastDeliveredId, id) >= 0 && !progress.pending.includes(id)
	}, `the consumer to apply entry ${id}`)
}

beforeAll(async () => {
	world = await startSessionsWorld()
	alice = await world.tenant()
	await pairedSession(world, alice, PHONE)
	ws = openSocket(world.app.url, { accessToken: alice.user.accessToken })
	await ws.next((m) => m.type === 'session.snapshot')
})
afterAll(async () => {
	ws?.close()
	await world?.close()
})

describe('a received message', () => {
	const ADA = '15550400001'

	it('shows as delivered once this device has it, and as read once the phone has read it; a repeat never takes it back', async () => {
		const upserted = wsEvent('session.messages.upsert', 'RECV1')
		await world.standIn.deliverEncrypted({ to: PHONE, from: ADA, text: 'are you there?', id: 'RECV1', pushName: 'Ada' })
		// Baileys answered with the delivery receipt that makes the sender's second tick.
		await world.standIn.waitForReceipt((r) => r.ids.includes('RECV1'))
		expect((await upserted).data.messages).toEqual([expect.objectContaining({ key: expect.objectContaining({ id: 'RECV1' }), status: 3 })])
		expect(await stored(jid(ADA), 'RECV1', 'delivered')).toMatchObject({ fromMe: false, text: 'are you there?' })

		const read = wsEvent('session.messages.update', 'RECV1')
		await world.standIn.readOnPhone({ to: PHONE, from: ADA, ids: ['RECV1'] })
		expect((await read).data.updates).toEqual([{ key: expect.objectContaining({ id: 'RECV1', fromMe: false }), status: 4 }])
		await stored(jid(ADA), 'RECV1', 'read')

		// WhatsApp delivers the same message again (a retry): it stays read.
		const again = wsEvent('session.messages.upsert', 'RECV1')
		await world.standIn.deliverText({ to: PHONE, from: ADA, text: 'are you there?', id: 'RECV1', pushName: 'Ada' })
		const repeat = await again
		expect(repeat.data.messages[0].status).toBe(3)
		await consumed(repeat.id!)
		expect((await messages(jid(ADA))).find((m) => m.id === 'RECV1')?.status).toBe('read')
	})
})

describe('a message with characters PostgreSQL cannot store', () => {
	const DIANA = '15550400007'

	it('is stored, a NUL in its text and its sender’s name replaced, not lost to its batch', async () => {
		const upserted = wsEvent('session.messages.upsert', 'NUL1')
		await world.standIn.deliverText({ to: PHONE, from: DIANA, text: 'before\u0000after', id: 'NUL1', pushName: 'Di\u0000ana' })
		const event = await upserted
		expect(event.data.messages[0]).toMatchObject({ text: 'before\uFFFDafter', pushName: 'Di\uFFFDana' })
		expect(await stored(jid(DIANA), 'NUL1')).toMatchObject({ text: 'before\uFFFDafter' })
		const contact = await until(async () => (await alice.get(`/contacts/${DIANA}`)).body?.notify, 'Diana as a contact')
		expect(contact).toBe('Di\uFFFDana')
	})
})

describe('a contact', () => {
	const BEA = '15550400002'

	it('shows its LID beside its phone JID once any event taught the session the pair', async () => {
		const { id } = await world.standIn.deliverText({ to: PHONE, from: BEA, text: 'hi, it is Bea', pushName: 'Bea' })
		await stored(jid(BEA), id)
		const contact = await until(async () => {
			const found = (await alice.get('/contacts?q=Bea')).body.items?.find((c: { jid: string }) => c.jid === jid(BEA))
			return found?.lidJid && found
		}, 'Bea with both forms')
		expect(contact).toMatchObject({ jid: jid(BEA), pnJid: jid(BEA), lidJid: world.standIn.lidOf(BEA), notify: 'Bea' })
		const chat = (await alice.get('/chats')).body.items.find((c: { jid: string }) => c.jid === jid(BEA))
		expect(chat).toMatchObject({ pnJid: jid(BEA), lidJid: contact.lidJid })
		// WhatsApp gave the chat no name; it shows as the contact's push name.
		expect(chat).toMatchObject({ name: null, displayName: 'Bea' })
		// One chat alone, by any of the person's forms, is what the list shows.
		for (const form of [jid(BEA), contact.lidJid, `+${BEA}`]) {
			const one = await alice.get(`/chats/${encodeURIComponent(form)}`)
			expect(one.status, form).toBe(200)
			expect(one.body, form).toEqual(chat)
		}
		expect((await alice.get(`/chats/${jid('15550499999')}`)).status).toBe(404)
		expect((await alice.get('/chats/not-a-chat')).body.error.code).toBe('INVALID_JID')
	})
})

describe('a chat', () => {
	const CARA = '15550400003'
	const DAN = '15550400004'

	interface ApiChat {
		jid: string
		name: string | null
		unreadCount: number | null
		archived: boolean | null
	}
	const chat = async (phone: string) => ((await alice.get('/chats?limit=50')).body.items as ApiChat[]).find((c) => c.jid === jid(phone))
	const untilChat = (phone: string, unreadCount: number) =>
		until(async () => {
			const found = await chat(phone)
			return found?.unreadCount === unreadCount && found
		}, `${phone}'s chat with ${unreadCount} unread`)

	it('keeps the name, unread count and archived flag history gave it, and counts what arrives after', async () => {
		const synced = ws.next((m) => m.type === 'session.history.sync' && JSON.stringify(m.data.chats).includes(jid(CARA)), 15_000)
		await world.standIn.pushHistory({
			to: PHONE,
			conversations: [
				{
					with: CARA,
					name: 'Cara Hunt',
					unreadCount: 2,
					archived: true,
					messages: [{ text: 'see you', fromMe: true }, { text: 'are you coming?' }, { text: 'hello??' }],
				},
			],
		})
		expect((await synced).data.chats).toEqual([expect.objectContaining({ jid: jid(CARA), name: 'Cara Hunt', unreadCount: 2, archived: true })])
		expect(await untilChat(CARA, 2)).toMatchObject({ name: 'Cara Hunt', archived: true })

		const { id } = await world.standIn.deliverText({ to: PHONE, from: CARA, text: 'I am outside' })
		expect(await untilChat(CARA, 3)).toMatchObject({ name: 'Cara Hunt', archived: true })
		await world.standIn.readOnPhone({ to: PHONE, from: CARA, ids: [id] })
		await untilChat(CARA, 2)
	})

	it('counts the messages of a new chat until the phone reads them', async () => {
		const first = await world.standIn.deliverText({ to: PHONE, from: DAN, text: 'one', pushName: 'Dan' })
		const second = await world.standIn.deliverText({ to: PHONE, from: DAN, text: 'two', pushName: 'Dan' })
		await untilChat(DAN, 2)
		await world.standIn.readOnPhone({ to: PHONE, from: DAN, ids: [first.id, second.id] })
		// WhatsApp names no live 1:1 chat and says nothing of archiving it: those stay unknown.
		expect(await untilChat(DAN, 0)).toMatchObject({ name: null, archived: null })
	})
})

describe('messages of one second', () => {
	const EVE = '15550400005'
	const FAY = '15550400006'

	it('are listed in the order they arrived, not by id', async () => {
		const second = Math.floor(Date.now() / 1000) - 5
		const ids = ['T4', 'T1', 'T3', 'T2']
		for (const id of ids) await world.standIn.deliverText({ to: PHONE, from: EVE, text: `message ${id}`, id, timestamp: second })
		// One upsert may carry several of them: each is looked up in whichever event holds it.
		const upserted = (id: string) =>
			ws.messages
				.filter((m) => m.type === 'session.messages.upsert')
				.flatMap((m) => (m.data as { messages: { key: { id: string }; seq: number }[] }).messages)
				.find((m) => m.key.id === id)
		await until(() => ids.every(upserted), 'the four messages on the WebSocket')
		// Arrival is as the runner saw it (its `seq`): Baileys may hand over messages of one sender in
		// another order than the wire had them, so the expectation follows the seqs it published.
		const arrived = [...ids].sort((a, b) => upserted(a)!.seq - upserted(b)!.seq)
		const listed = await until(async () => {
			const found = (await messages(jid(EVE))).map((m) => m.id)
			return found.length === ids.length && found
		}, "all of Eve's messages")
		expect(listed).toEqual([...arrived].reverse())
		// Page by page alike.
		const first = await alice.get(`/chats/${jid(EVE)}/messages?limit=3`)
		const rest = await alice.get(`/chats/${jid(EVE)}/messages?limit=3&cursor=${first.body.nextCursor}`)
		expect([...first.body.items, ...rest.body.items].map((m: ApiMessage) => m.id)).toEqual(listed)
	})

	it('from a history sync are listed in the order the phone had them', async () => {
		const second = Math.floor(Date.now() / 1000) - 3_600
		await world.standIn.pushHistory({
			to: PHONE,
			conversations: [
				{
					with: FAY,
					messages: [
						{ id: 'HZ', text: 'first', timestamp: second },
						{ id: 'HA', text: 'second', timestamp: second, fromMe: true },
						{ id: 'HM', text: 'third', timestamp: second },
					],
				},
			],
		})
		await stored(jid(FAY), 'HM')
		expect((await messages(jid(FAY))).map((m) => m.text)).toEqual(['third', 'second', 'first'])
	})
})
