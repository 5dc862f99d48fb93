import { afterAll, beforeAll, describe, expect, it } from 'bun:test'
import { randomBytes } from 'node:crypto'
import { proto } from '@whiskeysockets/baileys'
import { sql } from 'drizzle-orm'
import { expectError } from '../helpers/accounts'
import { type Client, pairedSession, type SessionsWorld, startSessionsWorld } from '../helpers/sessions'
import { until } from '../helpers/until'

/**
 * Edits, deletes and read receipts through the chat routes, the real Baileys socket and the
 * stand-in: what WhatsApp gets, and what GET /chats/:jid/messages and the events show after.
 */

const PHONE = '4915100000401'
const FRIEND = '4915100000402'
const CHAT = `${FRIEND}@s.whatsapp.net`
let world: SessionsWorld
let api: Client
let sessionId: string

beforeAll(async () => {
	world = await startSessionsWorld()
	api = await world.tenant()
	sessionId = (await pairedSession(world, api, PHONE)).id
})
afterAll(() => world.close())

const call = (method: string, path: string, body?: unknown) =>
	api.fetch(path, { method, ...(body === undefined ? {} : { headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) }) })

/** The message as GET /chats/:jid/messages shows it, once `ready` holds for it. */
function shown(id: string, ready: (m: Record<string, any>) => boolean = () => true) {
	return until(async () => {
		const res = await api.get(`/chats/${CHAT}/messages?limit=50`)
		const found = res.body.items?.find((m: { id: string }) => m.id === id)
		return found && ready(found) && found
	}, `message ${id} as expected`)
}

async function sendText(text: string): Promise<string> {
	const res = await api.post(`/chats/${CHAT}/messages`, { text })
	expect(res.status).toBe(202)
	await world.standIn.waitForSent((m) => m.id === res.body.messageId)
	await shown(res.body.messageId)
	return res.body.messageId
}

async function receiveText(text: string): Promise<string> {
	const { id } = await world.standIn.deliverText({ to: PHONE, from: FRIEND, text })
	await shown(id)
	return id
}

describe('PATCH /chats/:jid/messages/:messageId', () => {
	it('edits an own text: WhatsApp gets the edit, and the chat shows the new text, marked edited', async () => {
		const id = await sendText('See you at 5')
		const res = await call('PATCH', `/chats/${CHAT}/messages/${id}`, { text: 'See you at 6' })
		expect(res.status).toBe(202)
		expect(await res.json()).toEqual({ messageId: id, status: 'pending', chatJid: CHAT })

		const sent = await world.standIn.waitForSent((m) => m.message?.protocolMessage?.key?.id === id)
		expect(
			sent.message?.protocolMessage?.editedMessage?.conversation ?? sent.message?.protocolMessage?.editedMessage?.extendedTextMessage?.text,
		).toBe('See you at 6')
		const message = await shown(id, (m) => m.text === 'See you at 6')
		expect(message.editedAt).toEqual(expect.any(String))
		// A reply quotes the edited text, in the type the message was sent as.
		const reply = await api.post(`/chats/${CHAT}/messages`, { text: 'confirmed', replyTo: id })
		const answer = await world.standIn.waitForSent((m) => m.id === reply.body.messageId)
		const quote = answer.message?.extendedTextMessage?.contextInfo?.quotedMessage
		expect(Object.keys(proto.Message.fromObject(quote ?? {}).toJSON())).toEqual([message.type])
		expect(quote?.conversation ?? quote?.extendedTextMessage?.text).toBe('See you at 6')
		expect(
			world.events
				.eventsOf(sessionId, 'session.messages.update')
				.some((e) => e.data.updates.some((u) => u.key.id === id && u.edit?.text === 'See you at 6')),
		).toBe(true)
	})

	it('keeps the newest of several edits made within one second, received or own', async () => {
		// WhatsApp states an edit's time in whole seconds: a bot rewriting its answer edits faster than that.
		const theirs = await receiveText('draft 1')
		const second = Math.floor(Date.now() / 1000) * 1000
		for (const [i, text] of ['draft 2', 'draft 3', 'draft 4'].entries())
			await world.standIn.deliverContent({ to: PHONE, from: FRIEND, kind: 'edit', target: { id: theirs }, text, timestampMs: second + i })
		expect(await shown(theirs, (m) => m.text === 'draft 4')).toMatchObject({ text: 'draft 4', editedAt: expect.any(String) })

		const mine = await sendText('answer 1')
		for (const text of ['answer 2', 'answer 3']) {
			expect((await call('PATCH', `/chats/${CHAT}/messages/${mine}`, { text })).status).toBe(202)
			await world.standIn.waitForSent((m) => {
				const edit = m.message?.protocolMessage
				return edit?.key?.id === mine && (edit.editedMessage?.conversation ?? edit.editedMessage?.extendedTextMessage?.text) === text
			})
		}
		await shown(mine, (m) => m.text === 'answer 3')
	})

	it('refuses what WhatsApp would refuse, naming why, and sends nothing', async () => {
		const theirs = await receiveText('not yours to edit')
		const old = await sendText('an old message')
		const recent = await sendText('a recent message')
		await world.app.server.database.db.execute(
			sql`update session_messages set timestamp = now() - interval '16 minutes' where session_id = ${sessionId} and message_id = ${old}`,
		)
		const upload = await api.fetch('/media', { method: 'POST', headers: { 'content-type': 'image/jpeg' }, body: randomBytes(2000) })
		const image = await api.post(`/chats/${CHAT}/messages`, { image: { mediaId: ((await upload.json()) as { id: string }).id } })
		await shown(image.body.messageId)
		// The phone records a file message once it has checked the file, which can be after the
		// server shows it: counted from before that, the image itself would seem sent by a refusal.
		await world.standIn.waitForSent((m) => m.id === image.body.messageId)
		const sentBefore = world.standIn.sent().length

		await expectError(await call('PATCH', `/chats/${CHAT}/messages/${theirs}`, { text: 'x' }), 409, 'NOT_OWN_MESSAGE')
		await expectError(await call('PATCH', `/chats/${CHAT}/messages/${old}`, { text: 'x' }), 409, 'EDIT_WINDOW_CLOSED')
		await expectError(await call('PATCH', `/chats/${CHAT}/messages/${image.body.messageId}`, { text: 'x' }), 409, 'MESSAGE_NOT_EDITABLE')
		await expectError(await call('PATCH', `/chats/${CHAT}/messages/NOPE`, { text: 'x' }), 404, 'MESSAGE_NOT_FOUND')
		await expectError(await call('PATCH', `/chats/${CHAT}/messages/${old}`, { text: '' }), 400, 'VALIDATION_FAILED')
		await expectError(await call('PATCH', `/chats/${CHAT}/messages/${recent}`, { text: ' \n\t ' }), 400, 'INVALID_TEXT')
		await expectError(await call('PATCH', `/chats/4915100000499@s.whatsapp.net/messages/${old}`, { text: 'x' }), 404, 'NOT_FOUND')
		expect(world.standIn.sent().length).toBe(sentBefore)
	})
})

describe('DELETE /chats/:jid/messages/:messageId', () => {
	it('deletes an own message for everyone: WhatsApp gets the revoke, the chat shows it revoked without text, and again sends nothing', async () => {
		const id = await sendText('sent by mistake')
		const res = await call('DELETE', `/chats/${CHAT}/messages/${id}`)
		expect(res.status).toBe(202)
		const revoke = await world.standIn.waitForSent((m) => m.message?.protocolMessage?.key?.id === id)
		expect(revoke.message?.protocolMessage?.type).toBe(0) // REVOKE
		const message = await shown(id, (m) => m.revoked)
		expect(message.text).toBeNull()

		const sentBefore = world.standIn.sent().length
		expect((await call('DELETE', `/chats/${CHAT}/messages/${id}`)).status).toBe(202)
		// Nor can it be quoted or reacted to, as in WhatsApp's apps.
		await expectError(await call('POST', `/chats/${CHAT}/messages`, { text: 'about that', replyTo: id }), 409, 'MESSAGE_DELETED')
		await expectError(await call('POST', `/chats/${CHAT}/messages`, { reaction: { messageId: id, emoji: '👍' } }), 409, 'MESSAGE_DELETED')
		await sendText('after the second delete')
		expect(world.standIn.sent().length).toBe(sentBefore + 1)
	})

	it('sends one revoke for a DELETE repeated before WhatsApp confirmed the first (a client retrying)', async () => {
		const id = await sendText('sent twice by mistake')
		expect((await call('DELETE', `/chats/${CHAT}/messages/${id}`)).status).toBe(202)
		const repeats = await Promise.all([1, 2].map(() => call('DELETE', `/chats/${CHAT}/messages/${id}`)))
		expect(repeats.map((r) => r.status)).toEqual([202, 202])
		await shown(id, (m) => m.revoked)
		// A send after them: the session's commands go out in order, so any second revoke would come first.
		await sendText('after the repeated deletes')
		expect(world.standIn.sent().filter((m) => m.message?.protocolMessage?.key?.id === id)).toHaveLength(1)
	})

	it("refuses to delete another's message for everyone", async () => {
		await expectError(await call('DELETE', `/chats/${CHAT}/messages/${await receiveText('mine, not yours')}`), 409, 'NOT_OWN_MESSAGE')
	})

	it('?for=me forgets the message in Switchboard only', async () => {
		const id = await receiveText('forget me')
		const res = await call('DELETE', `/chats/${CHAT}/messages/${id}?for=me`)
		expect(res.status).toBe(204)
		const list = await api.get(`/chats/${CHAT}/messages?limit=50`)
		expect(list.body.items.some((m: { id: string }) => m.id === id)).toBe(false)
		await expectError(await call('DELETE', `/chats/${CHAT}/messages/${id}?for=me`), 404, 'MESSAGE_NOT_FOUND')
		await expectError(await call('DELETE', `/chats/${CHAT}/messages/${id}?for=them`), 400, 'VALIDATION_FAILED')
	})
})

describe('POST /chats/:jid/read', () => {
	it('sends read receipts for the unread received messages up to one, and shows them read', async () => {
		const [a, b, c] = [await receiveText('one'), await receiveText('two'), await receiveText('three')]
		const res = await call('POST', `/chats/${CHAT}/read`, { messageId: b })
		expect(res.status).toBe(202)
		expect(await res.json()).toMatchObject({ chatJid: CHAT, marked: expect.any(Number) })
		const receipt = await world.standIn.waitForReceipt((r) => r.type === 'read' && r.ids.includes(b))
		expect(receipt.ids).toContain(a)
		expect(receipt.ids).not.toContain(c)
		expect(await shown(a, (m) => m.status === 'read')).toBeTruthy()
		expect(await shown(b, (m) => m.status === 'read')).toBeTruthy()

		// Everything left: c, and nothing already read again.
		const rest = await call('POST', `/chats/${CHAT}/read`, {})
		expect(await rest.json()).toEqual({ chatJid: CHAT, marked: 1 })
		await world.standIn.waitForReceipt((r) => r.type === 'read' && r.ids.includes(c))
		await shown(c, (m) => m.status === 'read')
		const chats = await api.get('/chats')
		expect(chats.body.items.find((ch: { jid: string }) => ch.jid === CHAT)).toMatchObject({ unreadCount: 0 })
		expect(await (await call('POST', `/chats/${CHAT}/read`, {})).json()).toEqual({ chatJid: CHAT, marked: 0 })
	})

	it('answers 404 for an unknown message and chat', async () => {
		await expectError(await call('POST', `/chats/${CHAT}/read`, { messageId: 'NOPE' }), 404, 'MESSAGE_NOT_FOUND')
		await expectError(await call('POST', '/chats/4915100000499@s.whatsapp.net/read', {}), 404, 'NOT_FOUND')
	})
})
