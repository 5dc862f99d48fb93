import { afterAll, beforeAll, describe, expect, it } from 'bun:test'
import { randomBytes } from 'node:crypto'
import type { AnyElysia } from 'elysia'
import { domainEvent } from '../../src/core/catalogue'
import { createApiKey } from '../helpers/api-keys'
import { type Client, pairedSession, type SessionsWorld, startSessionsWorld } from '../helpers/sessions'
import { until } from '../helpers/until'

/**
 * Tenant isolation, route by route. Every route that names something a tenant owns (a session, a
 * stored message, a file, a webhook, a delivery, an API key), called by another tenant with the
 * owner's real ids, answers the very 404 it gives ids that exist nowhere (a refusal does not even
 * tell that they exist) and changes nothing. The owner's same requests get other answers, so each
 * 404 is the tenant check's and not a malformed request's. The routes come from the route table:
 * a route added with a path parameter and no request here fails the test.
 */

const ALICE_PHONE = '4915100000701'
const MALLORY_PHONE = '4915100000702'
const FRIEND = '4915100000703'
const CHAT = `${FRIEND}@s.whatsapp.net`
const MESSAGE = 'ISOLATION-A1'

let world: SessionsWorld
let alice: Client
let mallory: Client
/** Alice's things, by the name of the path parameter (or body field) that names them. */
let own: Names
/** Mallory's own session and webhook, for requests that pair one of hers with one of Alice's. */
let hers: { session: string; webhook: string }

beforeAll(async () => {
	world = await startSessionsWorld({ WEBHOOK_ALLOW_PRIVATE_TARGETS: 'true' })
	;[alice, mallory] = await Promise.all([world.tenant(), world.tenant()])
	const group = (await world.standIn.createGroup({ owner: ALICE_PHONE, subject: 'Private', members: [FRIEND], notify: false })).jid
	const [session, malloriesSession] = await Promise.all([pairedSession(world, alice, ALICE_PHONE), pairedSession(world, mallory, MALLORY_PHONE)])
	// A message of Alice's own, sent just now: one she may still edit and delete for everyone.
	await world.app.server.bus.publish([
		domainEvent(
			'session.messages.upsert',
			{ tenantId: alice.user.user.tenantId, sessionId: session.id },
			{
				messages: [
					{
						key: { remoteJid: CHAT, fromMe: true, id: MESSAGE },
						timestamp: Math.floor(Date.now() / 1000),
						type: 'conversation',
						text: 'only Alice reads this',
						content: { conversation: 'only Alice reads this' },
					},
				],
				type: 'notify',
			},
		),
		domainEvent(
			'session.contacts.upsert',
			{ tenantId: alice.user.user.tenantId, sessionId: session.id },
			{ contacts: [{ jid: CHAT, name: 'Friend' }] },
		),
	])
	await until(async () => (await alice.get(`/chats/${CHAT}/messages`)).body.items?.length === 1, 'the consumer to store the message')
	await until(async () => (await alice.get(`/contacts/${CHAT}`)).status === 200, 'the consumer to store the contact')
	await until(async () => (await alice.get(`/sessions/${session.id}/groups/${group}`)).status === 200, 'the group')
	const media = await alice.fetch('/media', { method: 'POST', headers: { 'content-type': 'image/png' }, body: randomBytes(100) })
	const webhook = await alice.post('/webhooks', { url: 'http://127.0.0.1:9/alice' })
	expect((await alice.post(`/webhooks/${webhook.body.id}/test`)).status).toBe(202)
	const deliveries = await alice.get(`/webhooks/${webhook.body.id}/deliveries`)
	own = {
		session: session.id,
		group,
		message: MESSAGE,
		media: ((await media.json()) as { id: string }).id,
		webhook: webhook.body.id,
		delivery: deliveries.body.items[0].id,
		apiKey: (await createApiKey(world.app, alice.user, ['sessions:read'])).id,
	}
	hers = { session: malloriesSession.id, webhook: (await mallory.post('/webhooks', { url: 'http://127.0.0.1:9/mallory' })).body.id }
}, 60_000)
afterAll(() => world?.close())

interface Call {
	method: string
	path: string
	body?: unknown
	/** Its place among the last of the owner's pass: it ends what the others need (the session, the webhook, the group). */
	late?: number
}

/** The things a request names: Alice's, or ones that exist nowhere. */
interface Names {
	session: string
	group: string
	message: string
	media: string
	webhook: string
	delivery: string
	apiKey: string
}

/** One request per route that takes an id, keyed by the route as the route table writes it. */
function requests(n: Names): Map<string, Call> {
	const s = n.session
	const inSession = `sessionId=${s}`
	const group = `/sessions/${s}/groups/${n.group}`
	const message = `/chats/${CHAT}/messages/${n.message}?${inSession}`
	const list: [string, Omit<Call, 'method'>][] = [
		['GET /sessions/:id', { path: `/sessions/${s}` }],
		['GET /sessions/:id/qr', { path: `/sessions/${s}/qr` }],
		['POST /sessions/:id/start', { path: `/sessions/${s}/start` }],
		['POST /sessions/:id/stop', { path: `/sessions/${s}/stop`, late: 5 }],
		['DELETE /sessions/:id', { path: `/sessions/${s}`, late: 6 }],
		['POST /sessions/:id/messages', { path: `/sessions/${s}/messages`, body: { to: `+${FRIEND}`, text: 'hi' } }],
		['POST /sessions/:id/presence', { path: `/sessions/${s}/presence`, body: { state: 'available' } }],
		['POST /sessions/:id/contacts/check', { path: `/sessions/${s}/contacts/check`, body: { phoneNumbers: [`+${FRIEND}`] } }],
		['GET /sessions/:id/groups', { path: `/sessions/${s}/groups` }],
		['POST /sessions/:id/groups', { path: `/sessions/${s}/groups`, body: { subject: 'New', participants: [`+${FRIEND}`] } }],
		['GET /sessions/:id/groups/:jid', { path: group }],
		['PATCH /sessions/:id/groups/:jid', { path: group, body: { subject: 'Renamed' } }],
		['POST /sessions/:id/groups/:jid/participants', { path: `${group}/participants`, body: { action: 'promote', participants: [`+${FRIEND}`] } }],
		['POST /sessions/:id/groups/:jid/invite', { path: `${group}/invite` }],
		['POST /sessions/:id/groups/:jid/invite/revoke', { path: `${group}/invite/revoke` }],
		['POST /sessions/:id/groups/:jid/leave', { path: `${group}/leave`, late: 1 }],
		['GET /chats/:jid', { path: `/chats/${CHAT}?${inSession}` }],
		['GET /chats/:jid/messages', { path: `/chats/${CHAT}/messages?${inSession}` }],
		['POST /chats/:jid/messages', { path: `/chats/${CHAT}/messages?${inSession}`, body: { text: 'hi', replyTo: n.message } }],
		['PATCH /chats/:jid/messages/:messageId', { path: message, body: { text: 'edited' } }],
		['DELETE /chats/:jid/messages/:messageId', { path: message, late: 2 }],
		['POST /chats/:jid/read', { path: `/chats/${CHAT}/read?${inSession}`, body: { messageId: n.message } }],
		['POST /chats/:jid/presence', { path: `/chats/${CHAT}/presence?${inSession}`, body: { state: 'typing' } }],
		['POST /chats/:jid/presence/subscribe', { path: `/chats/${CHAT}/presence/subscribe?${inSession}` }],
		['GET /contacts/:jid', { path: `/contacts/${CHAT}?${inSession}` }],
		['GET /contacts/:jid/picture', { path: `/contacts/${CHAT}/picture?${inSession}` }],
		['GET /media/:id', { path: `/media/${n.media}` }],
		['POST /media/:id/download', { path: `/media/${n.media}/download` }],
		['DELETE /media/:id', { path: `/media/${n.media}`, late: 3 }],
		['DELETE /api-keys/:id', { path: `/api-keys/${n.apiKey}`, late: 3 }],
		['GET /webhooks/:id', { path: `/webhooks/${n.webhook}` }],
		['PATCH /webhooks/:id', { path: `/webhooks/${n.webhook}`, body: { description: 'changed' } }],
		['DELETE /webhooks/:id', { path: `/webhooks/${n.webhook}`, late: 4 }],
		['GET /webhooks/:id/deliveries', { path: `/webhooks/${n.webhook}/deliveries` }],
		['POST /webhooks/:id/deliveries/:deliveryId/retry', { path: `/webhooks/${n.webhook}/deliveries/${n.delivery}/retry` }],
		['POST /webhooks/:id/replay', { path: `/webhooks/${n.webhook}/replay`, body: { since: '2026-01-01' } }],
		['POST /webhooks/:id/rotate-secret', { path: `/webhooks/${n.webhook}/rotate-secret` }],
		['POST /webhooks/:id/test', { path: `/webhooks/${n.webhook}/test` }],
	]
	return new Map(list.map(([route, call]) => [route, { method: route.split(' ')[0]!, ...call }]))
}

/** Names of nothing: a session, group, message, file, webhook, delivery and key that do not exist. */
const nowhere = (): Names => ({
	session: Bun.randomUUIDv7(),
	group: '120363999999999999@g.us',
	message: 'NOWHERE-1',
	media: Bun.randomUUIDv7(),
	webhook: Bun.randomUUIDv7(),
	delivery: Bun.randomUUIDv7(),
	apiKey: Bun.randomUUIDv7(),
})

/** A request's answer as a caller sees it: status, error code and message. */
async function answer(client: Client, { method, path, body }: Call): Promise<string> {
	const res = await client.fetch(path, {
		method,
		headers: body === undefined ? {} : { 'content-type': 'application/json' },
		body: body === undefined ? undefined : JSON.stringify(body),
	})
	const text = await res.text()
	const error = res.headers.get('content-type')?.includes('json')
		? (JSON.parse(text) as { error?: { code: string; message: string } }).error
		: undefined
	return `${res.status}${error ? ` ${error.code}: ${error.message}` : ''}`
}

/** The routes that take a path parameter and credentials: those with a scope decision. */
function routesWithIds(): string[] {
	type Route = { method: string; path: string; hooks: { detail?: { 'x-required-scope'?: string } } }
	return ((world.app.server.app as AnyElysia).routes as unknown as Route[])
		.filter((r) => r.method !== 'WS' && r.path.includes('/:') && r.hooks.detail?.['x-required-scope'])
		.map((r) => `${r.method} ${r.path}`)
}

/** What Alice sees of her things: a request of Mallory's must leave all of it as it was. */
async function aliceSees() {
	const [session, webhook, keys, messages, group, media, contact] = await Promise.all([
		alice.get(`/sessions/${own.session}`),
		alice.get(`/webhooks/${own.webhook}`),
		alice.get('/api-keys'),
		alice.get(`/chats/${CHAT}/messages`),
		alice.get(`/sessions/${own.session}/groups/${own.group}`),
		alice.get(`/media/${own.media}`),
		alice.get(`/contacts/${CHAT}`),
	])
	return {
		session: { status: session.body.status, desiredState: session.body.desiredState },
		webhook: webhook.body,
		keys: keys.body.items.map((k: { id: string }) => k.id),
		messages: messages.body.items.map((m: { id: string; text: string | null }) => [m.id, m.text]),
		group: { subject: group.body.subject, participants: group.body.participants.length },
		media: media.status,
		contact: contact.body,
		standIn: world.standIn.group(own.group).subject,
	}
}

/** What Mallory got from each route with Alice's ids: the owner's pass must get something else. */
const refusals = new Map<string, string>()

describe('another tenant', () => {
	it('has a request here for every route that takes an id', () => {
		const covered = requests(own)
		expect(routesWithIds().filter((route) => !covered.has(route))).toEqual([])
	})

	it("gets from every route called with Alice's ids the 404 it gets for ids that exist nowhere, and changes nothing of hers", async () => {
		const before = await aliceSees()
		const absent = requests(nowhere())
		for (const [route, call] of requests(own)) {
			const refused = await answer(mallory, call)
			refusals.set(route, refused)
			expect(`${route} → ${refused}`).toStartWith(`${route} → 404 `)
			// The same answer as for nothing: a refusal tells nobody that Alice's things exist.
			expect(`${route} → ${refused}`).toBe(`${route} → ${await answer(mallory, absent.get(route)!)}`)
		}
		expect(refusals.size).toBeGreaterThan(30)
		expect(await aliceSees()).toEqual(before)
	})

	it("gets 404 when it pairs its own session or webhook with Alice's message, file or delivery", async () => {
		const mine = `sessionId=${hers.session}`
		const calls: Call[] = [
			{ method: 'PATCH', path: `/chats/${CHAT}/messages/${MESSAGE}?${mine}`, body: { text: 'edited' } },
			{ method: 'DELETE', path: `/chats/${CHAT}/messages/${MESSAGE}?${mine}` },
			{ method: 'POST', path: `/chats/${CHAT}/messages?${mine}`, body: { image: { mediaId: own.media } } },
			{ method: 'POST', path: `/chats/${CHAT}/messages?${mine}`, body: { text: 'quoting', replyTo: MESSAGE } },
			{ method: 'POST', path: `/chats/${CHAT}/messages?${mine}`, body: { reaction: { messageId: MESSAGE, emoji: '👍' } } },
			{ method: 'POST', path: `/sessions/${hers.session}/messages`, body: { to: CHAT, document: { mediaId: own.media } } },
			{ method: 'POST', path: `/webhooks/${hers.webhook}/deliveries/${own.delivery}/retry` },
			// Nor may a webhook of hers listen to Alice's session.
			{ method: 'POST', path: '/webhooks', body: { url: 'http://127.0.0.1:9/spy', sessionIds: [own.session] } },
			{ method: 'PATCH', path: `/webhooks/${hers.webhook}`, body: { sessionIds: [own.session] } },
		]
		const before = await aliceSees()
		for (const call of calls) {
			const what = `${call.method} ${call.path} ${JSON.stringify(call.body ?? '')}`
			expect(`${what} → ${await answer(mallory, call)}`).toStartWith(`${what} → 404 `)
		}
		expect(await aliceSees()).toEqual(before)
	})
})

describe('the owner', () => {
	it('gets another answer than the other tenant from every one of those requests: they reach the check they test', async () => {
		expect(refusals.size).toBe(requests(own).size)
		const calls = [...requests(own)].sort(([, a], [, b]) => (a.late ?? 0) - (b.late ?? 0))
		for (const [route, call] of calls) {
			const answered = `${route} → ${await answer(alice, call)}`
			// Invalid input or a server error would say the request never got as far as the tenant check.
			expect(answered).not.toMatch(/→ (400|413|415|422|5\d\d)/)
			expect(answered).not.toBe(`${route} → ${refusals.get(route)}`)
		}
	})
})
