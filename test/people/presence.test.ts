import { afterAll, beforeAll, describe, expect, it } from 'bun:test'
import { DOMAIN_EVENTS } from '../../src/core/streams'
import { pairedSession, startSessionsWorld, type ApiSession, type Client, type SessionsWorld } from '../helpers/sessions'
import { until } from '../helpers/until'
import { openSocket, type TestSocket } from '../helpers/ws'

let world: SessionsWorld
let alice: Client
let session: ApiSession
let device: string
let ws: TestSocket

const PHONE = '15550600000'
const FRIEND = '15550600001'
const FRIEND_JID = `${FRIEND}@s.whatsapp.net`
const GROUP = '120363000000000002@g.us'

beforeAll(async () => {
	world = await startSessionsWorld()
	alice = await world.tenant()
	session = await pairedSession(world, alice, PHONE, 'Alice')
	device = world.standIn.device(PHONE).jid
	ws = openSocket(world.app.url, { accessToken: alice.user.accessToken })
	await ws.next((m) => m.type === 'session.snapshot')
})
afterAll(async () => {
	ws?.close()
	await world?.close()
})

describe('showing presence', () => {
	it('keeps a session that just connected unavailable, so the phone keeps its notifications', async () => {
		// Baileys says "available" (a presence without a type) as credentials change after connecting; the session says unavailable after it.
		const lastShown = () =>
			world.standIn.core.log
				.list('presence')
				.filter((e) => e.presence.kind === 'presence' && e.presence.device === device)
				.at(-1)?.presence.state
		await until(() => lastShown() === 'unavailable', 'the account shown unavailable')
	})

	it('POST /chats/:jid/presence shows typing, recording and paused in the chat', async () => {
		for (const [state, shown] of [
			['typing', 'composing'],
			['recording', 'recording'],
			['paused', 'paused'],
		] as const) {
			const after = world.standIn.position
			const res = await alice.post(`/chats/${FRIEND_JID}/presence`, { state })
			expect(res.status).toBe(202)
			expect(res.body).toEqual({ chatJid: FRIEND_JID, state })
			const seen = await world.standIn.waitForPresence((p) => p.kind === 'chatstate' && p.to === FRIEND_JID, { after })
			expect(seen).toMatchObject({ device, state: shown })
		}
	})

	it('takes a phone number or a group as the chat', async () => {
		const after = world.standIn.position
		expect((await alice.post(`/chats/${encodeURIComponent('+1 555 060 0001')}/presence`, { state: 'typing' })).body.chatJid).toBe(FRIEND_JID)
		await world.standIn.waitForPresence((p) => p.kind === 'chatstate' && p.to === FRIEND_JID, { after })
		expect((await alice.post(`/chats/${GROUP}/presence?sessionId=${session.id}`, { state: 'typing' })).status).toBe(202)
		await world.standIn.waitForPresence((p) => p.kind === 'chatstate' && p.to === GROUP, { after })
	})

	it('POST /sessions/:id/presence shows the account online and offline', async () => {
		for (const state of ['available', 'unavailable'] as const) {
			const after = world.standIn.position
			const res = await alice.post(`/sessions/${session.id}/presence`, { state })
			expect(res.status).toBe(202)
			expect(res.body).toEqual({ chatJid: null, state })
			expect(await world.standIn.waitForPresence((p) => p.kind === 'presence' && p.state === state, { after })).toMatchObject({ device })
		}
	})

	it('answers 400 for a state it does not know and for a chat that is not a user or group', async () => {
		for (const body of [{ state: 'dancing' }, { state: 'available' }, {}]) {
			const res = await alice.post(`/chats/${FRIEND_JID}/presence`, body)
			expect(res.status).toBe(400)
			expect(res.body.error.code).toBe('VALIDATION_FAILED')
		}
		expect((await alice.post(`/sessions/${session.id}/presence`, { state: 'typing' })).status).toBe(400)
		const bad = await alice.post('/chats/status@broadcast/presence', { state: 'typing' })
		expect(bad.status).toBe(400)
		expect(bad.body.error.code).toBe('INVALID_JID')
		expect((await alice.post('/chats/status@broadcast/presence/subscribe')).body.error.code).toBe('INVALID_JID')
	})
})

describe("following a contact's presence", () => {
	it('tells nothing before the subscription; after it, typing, online and offline arrive on the WebSocket', async () => {
		expect(world.standIn.sendPresence({ to: PHONE, from: FRIEND, state: 'typing' })).toBe(0)

		const after = world.standIn.position
		const res = await alice.post(`/chats/${FRIEND_JID}/presence/subscribe`)
		expect(res.status).toBe(202)
		expect(res.body).toEqual({ chatJid: FRIEND_JID, state: 'subscribed' })
		await world.standIn.waitForPresence((p) => p.kind === 'subscribe' && p.to === FRIEND_JID, { after })

		expect(world.standIn.sendPresence({ to: PHONE, from: FRIEND, state: 'typing' })).toBe(1)
		const typing = await ws.next((m) => m.type === 'session.presence.updated')
		expect(typing).toMatchObject({ sessionId: session.id, data: { chatJid: FRIEND_JID, participant: FRIEND_JID, presence: 'typing' } })

		world.standIn.sendPresence({ to: PHONE, from: FRIEND, state: 'recording' })
		expect((await ws.next((m) => m.type === 'session.presence.updated')).data.presence).toBe('recording')
		world.standIn.sendPresence({ to: PHONE, from: FRIEND, state: 'available' })
		expect((await ws.next((m) => m.type === 'session.presence.updated')).data.presence).toBe('available')
		world.standIn.sendPresence({ to: PHONE, from: FRIEND, state: 'unavailable', lastSeen: 1_767_225_600 })
		expect((await ws.next((m) => m.type === 'session.presence.updated')).data).toEqual({
			chatJid: FRIEND_JID,
			participant: FRIEND_JID,
			presence: 'unavailable',
			lastSeen: 1_767_225_600,
		})
	})

	it('is not stored: the consumer acknowledges presence events and writes nothing for them, without a dead letter', async () => {
		await until(async () => (await world.app.server.bus.pendingCount(DOMAIN_EVENTS, 'event-consumer')) === 0, 'the consumer to catch up')
		expect(await world.app.server.bus.deadLetters(DOMAIN_EVENTS)).toEqual([])
	})
})

describe('presence and sessions', () => {
	it("keeps tenants apart: another account's session answers 404", async () => {
		const bob = await world.tenant()
		expect((await bob.post(`/chats/${FRIEND_JID}/presence?sessionId=${session.id}`, { state: 'typing' })).status).toBe(404)
		expect((await bob.post(`/chats/${FRIEND_JID}/presence/subscribe?sessionId=${session.id}`)).status).toBe(404)
		expect((await bob.post(`/sessions/${session.id}/presence`, { state: 'available' })).status).toBe(404)
	})

	it('answers 409 SESSION_NOT_CONNECTED while the session is not connected', async () => {
		const carol = await world.tenant()
		const other = await pairedSession(world, carol, '15550600002')
		await carol.post(`/sessions/${other.id}/stop`)
		await until(async () => (await carol.get(`/sessions/${other.id}`)).body.status === 'stopped', 'stopped')
		for (const res of [
			await carol.post(`/chats/${FRIEND_JID}/presence`, { state: 'typing' }),
			await carol.post(`/chats/${FRIEND_JID}/presence/subscribe`),
			await carol.post(`/sessions/${other.id}/presence`, { state: 'available' }),
		]) {
			expect(res.status).toBe(409)
			expect(res.body.error).toMatchObject({ code: 'SESSION_NOT_CONNECTED', details: { status: 'stopped' } })
		}
	})
})
