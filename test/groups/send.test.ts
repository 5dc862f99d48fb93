import { afterAll, beforeAll, describe, expect, it } from 'bun:test'
import { expectError } from '../helpers/accounts'
import { type Client, pairedSession, type SessionsWorld, startSessionsWorld } from '../helpers/sessions'
import { until } from '../helpers/until'

/**
 * Sending to groups and reading what members wrote: the real Baileys socket encrypts with sender
 * keys, the stand-in decrypts with the key it distributed; the roster comes from the runner's
 * group cache (`cachedGroupMetadata`), so WhatsApp is not asked for it again per send.
 */

const PHONE = '4915100000601'
const ALICE = '4915100000602'
const BOB = '4915100000603'
const pn = (phone: string) => `${phone}@s.whatsapp.net`
/** 499 more members: a big group. */
const CROWD = Array.from({ length: 499 }, (_, i) => String(4915200000000 + i))

let world: SessionsWorld
let api: Client
let sessionId: string
let big: string
let lidGroup: string

beforeAll(async () => {
	world = await startSessionsWorld()
	api = await world.tenant()
	big = (await world.standIn.createGroup({ owner: CROWD[0]!, subject: 'Everyone', members: [PHONE, ...CROWD.slice(1)], notify: false })).jid
	lidGroup = (
		await world.standIn.createGroup({ owner: ALICE, subject: 'By LID', members: [PHONE, BOB], addressing: 'lid', hidePhones: [BOB], notify: false })
	).jid
	sessionId = (await pairedSession(world, api, PHONE)).id
	await until(async () => (await api.get(`/sessions/${sessionId}/groups/${big}`)).body?.participants?.length === 500, 'the big roster stored')
}, 60_000)
afterAll(() => world.close())

async function send(chat: string, body: Record<string, unknown>) {
	const res = await api.post(`/chats/${chat}/messages`, body)
	expect(res.status).toBe(202)
	return world.standIn.waitForSent((m) => m.id === res.body.messageId, { timeoutMs: 60_000 })
}

describe('a 500-member group', () => {
	it('sends to every member without fetching the roster again', async () => {
		expect(world.standIn.group(big).members).toHaveLength(500)
		const before = world.standIn.groupQueries(big).metadata
		const first = await send(big, { text: 'hello everyone' })
		expect(first.to).toBe(big)
		expect(first.text).toBe('hello everyone')
		// The sender key went to each member's phone (and the account's own).
		expect(new Set(first.recipients.map((jid) => jid.split('@')[0]!.split(':')[0])).size).toBeGreaterThanOrEqual(500)
		const second = await send(big, { text: 'and again' })
		expect(second.text).toBe('and again')
		expect(world.standIn.groupQueries(big).metadata).toBe(before)
	}, 90_000)
})

describe("a message's status in a group", () => {
	it("reads server_ack once the account's phone has it (its sender receipt), not read", async () => {
		const sent = await send(lidGroup, { text: 'status check' })
		const statusOf = async () =>
			(await api.get(`/chats/${lidGroup}/messages?limit=50`)).body.items?.find((m: { id: string }) => m.id === sent.id)?.status
		// A status only moves forward: read here would stay read.
		await until(async () => (await statusOf()) === 'server_ack', 'the phone has it')
	})

	it("follows the members' receipts: delivered once one has it, read once one read it", async () => {
		const sent = await send(lidGroup, { text: 'who has it?' })
		const statusOf = async () =>
			(await api.get(`/chats/${lidGroup}/messages?limit=50`)).body.items?.find((m: { id: string }) => m.id === sent.id)?.status
		await until(async () => (await statusOf()) === 'server_ack', 'the phone has it')
		// Bob is named by his LID in this group (his number is hidden), as WhatsApp names him in the receipt.
		const delivered = world.events.waitFor('session.messages.update', sessionId, {
			where: (e) => e.data.updates.some((u) => u.key.id === sent.id && u.status === 3),
		})
		await world.standIn.sendReceipts({ ids: [sent.id], type: 'delivery', from: BOB })
		await delivered
		await until(async () => (await statusOf()) === 'delivered', 'delivered to Bob')
		await world.standIn.sendReceipts({ ids: [sent.id], type: 'read', from: ALICE })
		await until(async () => (await statusOf()) === 'read', 'read by Alice')
		// A member's receipt needs the member: the stand-in refuses one from nobody, or from outside the group.
		for (const from of [undefined, CROWD[1]!]) {
			const refused = await world.standIn.sendReceipts({ ids: [sent.id], type: 'read', from }).catch((error: Error) => error)
			expect(String(refused)).toContain('comes from one of its members')
		}
	})
})

describe('mentions', () => {
	it('sends the mentioned people with the text', async () => {
		const sent = await send(lidGroup, { text: `hi @${ALICE}`, mentions: [`+${ALICE}`] })
		expect(sent.message?.extendedTextMessage?.text).toBe(`hi @${ALICE}`)
		expect(sent.message?.extendedTextMessage?.contextInfo?.mentionedJid).toEqual([pn(ALICE)])
	})

	it('refuses a mention that names no one, and mentions without text', async () => {
		const bad = await api.post(`/chats/${lidGroup}/messages`, { text: 'hi', mentions: ['someone'] })
		expect(bad.status).toBe(400)
		expect(bad.body.error.code).toBe('INVALID_MENTION')
		const group = await api.post(`/chats/${lidGroup}/messages`, { text: 'hi', mentions: [big] })
		expect(group.body.error.code).toBe('INVALID_MENTION')
		const noText = await api.post(`/chats/${lidGroup}/messages`, { location: { latitude: 1, longitude: 2 }, mentions: [pn(ALICE)] })
		expect(noText.status).toBe(400)
	})
})

describe('who wrote a group message', () => {
	const messages = async () => (await api.get(`/chats/${lidGroup}/messages`)).body.items as any[]

	it('shows the sender with both JIDs, on the API and in the event', async () => {
		const { id } = await world.standIn.deliverToGroup({ group: lidGroup, from: ALICE, text: 'from Alice', pushName: 'Alice' })
		const event = await world.events.waitFor('session.messages.upsert', sessionId, { where: (e) => e.data.messages.some((m) => m.key.id === id) })
		expect(event.data.messages.find((m) => m.key.id === id)!.key).toMatchObject({
			remoteJid: lidGroup,
			participant: world.standIn.lidOf(ALICE),
			participantAlt: pn(ALICE),
		})
		const message = await until(async () => (await messages()).find((m) => m.id === id), 'Alice’s message')
		expect(message).toMatchObject({ sender: pn(ALICE), senderPn: pn(ALICE), senderLid: world.standIn.lidOf(ALICE), pushName: 'Alice' })
		// The group's chat shows as its subject, not as the last writer's name.
		const chat = (await api.get('/chats')).body.items.find((c: { jid: string }) => c.jid === lidGroup)
		expect(chat).toMatchObject({ displayName: 'By LID' })
		// Alice is a contact now, by her push name, though there is no chat with her alone.
		const contact = await until(async () => {
			const { body } = await api.get(`/contacts/${ALICE}`)
			return body.displayName === 'Alice' && body
		}, 'Alice as a contact')
		expect(contact).toMatchObject({ jid: pn(ALICE), lidJid: world.standIn.lidOf(ALICE), notify: 'Alice' })
		expect((await api.get(`/contacts/${encodeURIComponent(world.standIn.lidOf(ALICE))}`)).body).toEqual(contact)
		await expectError(await api.fetch(`/chats/${pn(ALICE)}`), 404, 'NOT_FOUND')
		await expectError(await api.fetch(`/contacts/${lidGroup}`), 400, 'INVALID_JID')
		// Her first message to the account alone files her under her number as well: still one contact.
		const upserted = world.events.waitFor('session.contacts.upsert', sessionId, {
			where: (e) => e.data.contacts.some((c) => c.jid === pn(ALICE) || c.pn === pn(ALICE)),
		})
		await world.standIn.deliverText({ to: PHONE, from: ALICE, pushName: 'Alice', text: 'just us' })
		await upserted
		// A later message of the session in the API: the consumer has stored everything before it.
		const { id: later } = await world.standIn.deliverText({ to: PHONE, from: ALICE, text: 'and later' })
		await until(
			async () => (await api.get(`/chats/${pn(ALICE)}/messages`)).body.items?.some((m: { id: string }) => m.id === later),
			'the later message',
		)
		const found = (await api.get('/contacts?q=Alice')).body.items
		expect(found).toEqual([expect.objectContaining({ jid: pn(ALICE), displayName: 'Alice' })])
	})

	it('shows a member whose number WhatsApp hides by LID, and by number once the roster shows it', async () => {
		const bob = world.standIn.lidOf(BOB)
		const { id } = await world.standIn.deliverToGroup({ group: lidGroup, from: BOB, text: 'from Bob' })
		const hidden = await until(async () => (await messages()).find((m) => m.id === id), 'Bob’s message')
		expect(hidden).toMatchObject({ sender: bob, senderPn: null, senderLid: bob })
		await world.standIn.revealGroupPhone({ group: lidGroup, phone: BOB })
		const shown = await until(async () => (await messages()).find((m) => m.id === id && m.senderPn), 'Bob’s number on his message')
		expect(shown).toMatchObject({ sender: pn(BOB), senderPn: pn(BOB), senderLid: bob })
	})
})
