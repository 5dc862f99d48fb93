import { afterAll, beforeAll, describe, expect, it } from 'bun:test'
import { expectError, randomIp } from '../helpers/accounts'
import { startTestApp, type TestApp } from '../helpers/app'
import { createVerifiedUser } from '../helpers/accounts'
import { clientFor, type ApiSession, type Client } from '../helpers/sessions'

// Bad input on the chat and contact routes, and which session they read when none is named.
let app: TestApp
let alice: Client
let session: ApiSession

const UNKNOWN = '01900000-0000-7000-8000-000000000000'
const CHAT = '15550500001@s.whatsapp.net'

beforeAll(async () => {
	app = await startTestApp({ ROLES: 'api' })
	alice = clientFor(app, await createVerifiedUser(app))
	session = (await alice.post<ApiSession>('/sessions', {})).body
})
afterAll(async () => {
	await app?.close()
})

const post = (client: Client, path: string, body: unknown) =>
	client.fetch(path, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) })

describe('every chat and contact route', () => {
	it('answers 401 without a valid access token', async () => {
		for (const [method, path, body] of [
			['GET', '/chats'],
			['GET', `/chats/${CHAT}/messages`],
			['POST', `/chats/${CHAT}/messages`, { text: 'hi' }],
			['GET', '/contacts'],
			['GET', `/contacts/${CHAT}`],
		] as const) {
			const res = await fetch(app.url + path, {
				method,
				headers: { 'x-forwarded-for': randomIp(), authorization: 'Bearer not-a-token', ...(body ? { 'content-type': 'application/json' } : {}) },
				body: body ? JSON.stringify(body) : undefined,
			})
			await expectError(res, 401, 'UNAUTHORIZED')
		}
	})

	it.each(['limit=0', 'limit=201', 'limit=ten', 'sessionId=42', 'sessionId=not-a-uuid', 'cursor='])('refuses %p with 400', async (query) => {
		for (const path of ['/chats', `/chats/${CHAT}/messages`, '/contacts'])
			await expectError(await alice.fetch(`${path}?${query}`), 400, 'VALIDATION_FAILED')
	})

	it('answers 404 for an unknown session', async () => {
		for (const path of ['/chats', `/chats/${CHAT}/messages`, '/contacts', `/contacts/${CHAT}`])
			await expectError(await alice.fetch(`${path}?sessionId=${UNKNOWN}`), 404, 'NOT_FOUND')
		await expectError(await post(alice, `/chats/${CHAT}/messages?sessionId=${UNKNOWN}`, { text: 'hi' }), 404, 'NOT_FOUND')
	})

	it('refuses garbage cursors with 400 INVALID_CURSOR', async () => {
		for (const cursor of ['garbage', 'a.b', 'W10.AAAAAAAAAAAAAAAA', '%00', 'x'.repeat(2048)])
			for (const path of ['/chats', `/chats/${CHAT}/messages`, '/contacts'])
				expect((await alice.get(`${path}?cursor=${encodeURIComponent(cursor)}`)).body.error.code).toBeOneOf(['INVALID_CURSOR', 'NOT_FOUND'])
		for (const path of ['/chats', '/contacts']) await expectError(await alice.fetch(`${path}?cursor=garbage`), 400, 'INVALID_CURSOR')
	})
})

describe('the default session', () => {
	it("is the tenant's only one; with none, 404; with several, 400 SESSION_REQUIRED until one is named", async () => {
		const bob = clientFor(app, await createVerifiedUser(app))
		for (const path of ['/chats', '/contacts']) await expectError(await bob.fetch(path), 404, 'NOT_FOUND')
		const first = (await bob.post<ApiSession>('/sessions', {})).body
		expect((await bob.get('/chats')).body).toEqual({ items: [], nextCursor: null })
		await bob.post('/sessions', {})
		for (const path of ['/chats', '/contacts', `/chats/${CHAT}/messages`]) await expectError(await bob.fetch(path), 400, 'SESSION_REQUIRED')
		await expectError(await post(bob, `/chats/${CHAT}/messages`, { text: 'hi' }), 400, 'SESSION_REQUIRED')
		expect((await bob.get(`/contacts?sessionId=${first.id}`)).body).toEqual({ items: [], nextCursor: null })
	})
})

describe('GET /chats/:jid/messages and POST /chats/:jid/messages', () => {
	const bad = ['hello', 'abc@s.whatsapp.net', '123@s.whatsapp.net', '15550500001@example.com', 'status@broadcast', 'abc@lid', '0151 1234567']

	it.each(bad)('refuse the chat %p with 400 INVALID_JID', async (jid) => {
		await expectError(await alice.fetch(`/chats/${encodeURIComponent(jid)}/messages`), 400, 'INVALID_JID')
		await expectError(await post(alice, `/chats/${encodeURIComponent(jid)}/messages`, { text: 'hi' }), 400, 'INVALID_JID')
	})

	it('answer 404 for a chat the session does not have', async () => {
		await expectError(await alice.fetch(`/chats/${CHAT}/messages`), 404, 'NOT_FOUND')
	})

	it.each([
		['an empty text', { text: '' }],
		['a text that is not a string', { text: 42 }],
		['a text over 65,536 characters', { text: 'x'.repeat(65_537) }],
	])('refuse %s with 400', async (_, body) => {
		await expectError(await post(alice, `/chats/${CHAT}/messages`, body), 400, 'VALIDATION_FAILED')
	})

	it('refuse a message with nothing to send with 400 INVALID_CONTENT', async () => {
		await expectError(await post(alice, `/chats/${CHAT}/messages`, {}), 400, 'INVALID_CONTENT')
	})

	it('answer 409 for a valid message while the session is not connected', async () => {
		await expectError(await post(alice, `/chats/${CHAT}/messages?sessionId=${session.id}`, { text: 'hi' }), 409, 'SESSION_NOT_CONNECTED')
	})
})

describe('GET /contacts', () => {
	it.each(['q=', `q=${'x'.repeat(101)}`])('refuses %p with 400', async (query) => {
		await expectError(await alice.fetch(`/contacts?${query}`), 400, 'VALIDATION_FAILED')
	})
})

describe('GET /contacts/:jid', () => {
	it.each(['hello', 'abc@lid', '0151 1234567', '120363000000000001@g.us'])('refuses %p with 400 INVALID_JID', async (jid) => {
		await expectError(await alice.fetch(`/contacts/${encodeURIComponent(jid)}`), 400, 'INVALID_JID')
	})

	it('answers 404 for a person the session does not know', async () => {
		const error = await expectError(await alice.fetch(`/contacts/${CHAT}`), 404, 'NOT_FOUND')
		expect(error.message).toBe('Contact not found')
	})
})

describe('a body nested deeper than any route reads', () => {
	it('is valid JSON: answered by what the route makes of it, not as malformed', async () => {
		const deep = `${'['.repeat(100_000)}${']'.repeat(100_000)}`
		const res = await alice.fetch(`/chats/${CHAT}/messages?sessionId=${session.id}`, {
			method: 'POST',
			headers: { 'content-type': 'application/json' },
			body: `{"text":"hi","extra":${deep}}`,
		})
		// A send has no field `extra`: refused as such, which only a body read whole can tell.
		const error = await expectError(res, 400, 'UNKNOWN_FIELD')
		expect(error.details).toEqual({ fields: ['extra'] })
	})

	it('names a misspelt field inside a message by its path', async () => {
		const res = await alice.fetch(`/chats/${CHAT}/messages?sessionId=${session.id}`, {
			method: 'POST',
			headers: { 'content-type': 'application/json' },
			body: JSON.stringify({ poll: { question: 'Lunch?', options: ['pizza', 'soup'], selectableCount: 1, multiple: true } }),
		})
		const error = await expectError(res, 400, 'UNKNOWN_FIELD')
		expect(error.details).toEqual({ fields: ['poll.multiple'] })
	})
})
