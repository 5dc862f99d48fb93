import { afterAll, beforeAll, describe, expect, it } from 'bun:test'
import { and, eq, sql } from 'drizzle-orm'
import { outbox, sendRequests, sessionLidMappings } from '../../src/db/schema'
import { pruneSendRequests } from '../../src/modules/sessions/idempotency-retention'
import { expectError } from '../helpers/accounts'
import { pairedSession, startSessionsWorld, type ApiSession, type Client, type SessionsWorld } from '../helpers/sessions'
import { until } from '../helpers/until'

let world: SessionsWorld
let alice: Client
let session: ApiSession

const PHONE = '15550300000'
const FRIEND = '15550300001'
const FRIEND_JID = `${FRIEND}@s.whatsapp.net`

beforeAll(async () => {
	world = await startSessionsWorld()
	alice = await world.tenant()
	session = await pairedSession(world, alice, PHONE)
})
afterAll(async () => {
	await world?.close()
})

/** sendMessage commands in the outbox for a message id: what reached (or will reach) a runner. */
const commandsFor = async (messageId: string) =>
	(
		await world.app.server.database.db
			.select({ id: outbox.id })
			.from(outbox)
			.where(and(eq(outbox.type, 'session.messages.send'), sql`${outbox.payload}->'data'->>'messageId' = ${messageId}`))
	).length

async function messageInChat(chat: string, id: string, status?: string) {
	return until(
		async () => {
			const res = await alice.get(`/chats/${chat}/messages?limit=20`)
			const found = res.status === 200 && res.body.items.find((m: { id: string }) => m.id === id)
			return found && (!status || found.status === status) && found
		},
		`message ${id} in ${chat}${status ? ` with status ${status}` : ''}`,
	)
}

describe('sending a text', () => {
	it('answers 202 with our message id at once; WhatsApp gets it and the chat shows it, its status moving up to read', async () => {
		const res = await alice.post(`/sessions/${session.id}/messages`, { to: '+1 555-030 0001', text: 'Hello, friend' })
		expect(res.status).toBe(202)
		expect(res.body).toEqual({ messageId: expect.stringMatching(/^3EB0[0-9A-F]{18}$/), status: 'pending', chatJid: FRIEND_JID })
		const { messageId } = res.body

		const sent = await world.standIn.waitForSent((m) => m.id === messageId)
		expect(sent).toMatchObject({ to: FRIEND_JID, text: 'Hello, friend' })
		expect(await messageInChat(FRIEND_JID, messageId)).toMatchObject({ fromMe: true, text: 'Hello, friend', type: expect.any(String) })
		// The account's phone has it (its `sender` receipt): one tick, before the contact's receipts.
		await messageInChat(FRIEND_JID, messageId, 'server_ack')

		await world.standIn.sendReceipts({ ids: [messageId], type: 'delivery' })
		await messageInChat(FRIEND_JID, messageId, 'delivered')
		await world.standIn.sendReceipts({ ids: [messageId], type: 'read' })
		await world.events.waitFor('session.messages.update', session.id, {
			where: (e) => e.data.updates.some((u) => u.key.id === messageId && u.status === 4),
		})
		await messageInChat(FRIEND_JID, messageId, 'read')
	})

	it('to a chat: POST /chats/:jid/messages uses the only session by default', async () => {
		const res = await alice.post(`/chats/${FRIEND_JID}/messages`, { text: 'via the chat' })
		expect(res.status).toBe(202)
		await world.standIn.waitForSent((m) => m.id === res.body.messageId)
		const named = await alice.post(`/chats/${encodeURIComponent('+1 (555) 030-0001')}/messages?sessionId=${session.id}`, { text: 'by number' })
		expect(named.status).toBe(202)
		expect(named.body.chatJid).toBe(FRIEND_JID)
		expect((await world.standIn.waitForSent((m) => m.id === named.body.messageId)).text).toBe('by number')
	})

	it("to a person's LID: answers the chat the message is filed under, the phone-number JID the session knows for it", async () => {
		const lid = world.standIn.lidOf(FRIEND)
		// What the projection keeps once WhatsApp told the pair (a message, a roster, a number check).
		await world.app.server.database.db.insert(sessionLidMappings).values({ sessionId: session.id, lid, pn: FRIEND_JID }).onConflictDoNothing()
		const res = await alice.post(`/chats/${lid}/messages`, { text: 'to the LID' })
		expect(res.status).toBe(202)
		expect(res.body.chatJid).toBe(FRIEND_JID)
		expect(await messageInChat(FRIEND_JID, res.body.messageId)).toMatchObject({ chatJid: FRIEND_JID, text: 'to the LID' })
		// A LID the session knows no number for is answered as it is.
		const unknown = await alice.post(`/sessions/${session.id}/messages`, { to: '987650000000001@lid', text: 'nobody known' })
		expect(unknown.body.chatJid).toBe('987650000000001@lid')
	})

	it('with an Idempotency-Key, a retry answers the same message id and sends nothing more', async () => {
		const key = { 'idempotency-key': `retry-${Bun.randomUUIDv7()}` }
		const body = { to: FRIEND_JID, text: 'exactly once' }
		const first = await alice.post(`/sessions/${session.id}/messages`, body, key)
		const retries = await Promise.all([1, 2, 3].map(() => alice.post(`/sessions/${session.id}/messages`, body, key)))
		expect(first.status).toBe(202)
		for (const retry of retries) expect(retry.body).toEqual(first.body)
		await world.standIn.waitForSent((m) => m.id === first.body.messageId)
		expect(await commandsFor(first.body.messageId)).toBe(1)
		// The chat route shares the key space of the session.
		expect((await alice.post(`/chats/${FRIEND_JID}/messages`, { text: 'exactly once' }, key)).body).toEqual(first.body)
	})

	it('forgets an Idempotency-Key after its retention: a retry then is a new message', async () => {
		const key = { 'idempotency-key': `expiring-${Bun.randomUUIDv7()}` }
		const body = { to: FRIEND_JID, text: 'remembered for a day' }
		const first = await alice.post(`/sessions/${session.id}/messages`, body, key)
		expect(first.status).toBe(202)
		const { db } = world.app.server.database
		// Two days pass for this key; a key of a moment ago stays.
		await db.update(sendRequests).set({ createdAt: sql`now() - interval '2 days'` }).where(eq(sendRequests.idempotencyKey, key['idempotency-key']))
		const kept = { 'idempotency-key': `fresh-${Bun.randomUUIDv7()}` }
		const fresh = await alice.post(`/sessions/${session.id}/messages`, body, kept)
		expect(await pruneSendRequests(db, new Date(Date.now() - 24 * 3600_000))).toBeGreaterThanOrEqual(1)
		const retried = await alice.post(`/sessions/${session.id}/messages`, body, key)
		expect(retried.status).toBe(202)
		expect(retried.body.messageId).not.toBe(first.body.messageId)
		expect((await alice.post(`/sessions/${session.id}/messages`, body, kept)).body).toEqual(fresh.body)
	})

	it('the same Idempotency-Key with another message answers 422', async () => {
		const key = { 'idempotency-key': `reuse-${Bun.randomUUIDv7()}` }
		expect((await alice.post(`/sessions/${session.id}/messages`, { to: FRIEND_JID, text: 'one' }, key)).status).toBe(202)
		const res = await alice.fetch(`/sessions/${session.id}/messages`, {
			method: 'POST',
			headers: { 'content-type': 'application/json', ...key },
			body: JSON.stringify({ to: FRIEND_JID, text: 'two' }),
		})
		await expectError(res, 422, 'IDEMPOTENCY_KEY_REUSED')
	})

	it('without a key, two identical requests are two messages', async () => {
		const body = { to: FRIEND_JID, text: 'twice on purpose' }
		const [a, b] = await Promise.all([alice.post(`/sessions/${session.id}/messages`, body), alice.post(`/sessions/${session.id}/messages`, body)])
		expect(a!.body.messageId).not.toBe(b!.body.messageId)
		await world.standIn.waitForSent((m) => m.id === a!.body.messageId)
		await world.standIn.waitForSent((m) => m.id === b!.body.messageId)
	})

	it('answers 409 while the session is not connected, and a retried key still gets its first answer', async () => {
		const bob = await world.tenant()
		const other = await pairedSession(world, bob, '15550300002')
		const key = { 'idempotency-key': `before-stop-${Bun.randomUUIDv7()}` }
		const accepted = await bob.post(`/sessions/${other.id}/messages`, { to: FRIEND_JID, text: 'just in time' }, key)
		expect(accepted.status).toBe(202)
		const after = world.events.events.length
		await bob.post(`/sessions/${other.id}/stop`)
		await world.events.waitFor('session.status.disconnected', other.id, { after })
		await until(async () => (await bob.get(`/sessions/${other.id}`)).body.status === 'stopped', 'stopped')

		const answer = await bob.fetch(`/sessions/${other.id}/messages`, {
			method: 'POST',
			headers: { 'content-type': 'application/json' },
			body: JSON.stringify({ to: FRIEND_JID, text: 'too late' }),
		})
		// A stopped session stays down until someone starts it: no time to retry after.
		expect(answer.headers.get('retry-after')).toBeNull()
		const refused = await expectError(answer, 409, 'SESSION_NOT_CONNECTED')
		expect(refused.details).toEqual({ status: 'stopped' })
		expect((await bob.post(`/sessions/${other.id}/messages`, { to: FRIEND_JID, text: 'just in time' }, key)).body).toEqual(accepted.body)
	})
})
