import { afterAll, beforeAll, describe, expect, it } from 'bun:test'
import postgres from 'postgres'
import { expectError, randomIp } from '../helpers/accounts'
import { startTestApp, type TestApp } from '../helpers/app'
import { createVerifiedUser } from '../helpers/accounts'
import { clientFor, type ApiSession, type Client } from '../helpers/sessions'

// Bad input on every session route, at the HTTP boundary. No runner is needed to refuse it.
let app: TestApp
let alice: Client
let session: ApiSession

const UNKNOWN = '01900000-0000-7000-8000-000000000000'

beforeAll(async () => {
	app = await startTestApp({ ROLES: 'api', BODY_LIMIT_BYTES: '131072' })
	alice = clientFor(app, await createVerifiedUser(app))
	session = (await alice.post<ApiSession>('/sessions', { name: 'validation' })).body
})
afterAll(async () => {
	await app?.close()
})

const send = (path: string, body: unknown, headers: Record<string, string> = {}) =>
	alice.fetch(path, {
		method: 'POST',
		headers: { 'content-type': 'application/json', ...headers },
		body: typeof body === 'string' ? body : JSON.stringify(body),
	})

describe('every session route', () => {
	it('answers 401 without a valid access token', async () => {
		// Valid bodies: Elysia validates a body before the auth macro runs, so a bad one is a 400 first.
		for (const [method, path, body] of [
			['POST', '/sessions', {}],
			['GET', '/sessions'],
			['GET', `/sessions/${session.id}`],
			['GET', `/sessions/${session.id}/qr`],
			['POST', `/sessions/${session.id}/start`],
			['POST', `/sessions/${session.id}/stop`],
			['DELETE', `/sessions/${session.id}`],
			['POST', `/sessions/${session.id}/messages`, { to: '+15550100001', text: 'hi' }],
		] as const) {
			for (const authorization of [undefined, 'Bearer nonsense', `Basic ${btoa('a:b')}`]) {
				const res = await fetch(app.url + path, {
					method,
					headers: {
						'x-forwarded-for': randomIp(),
						...(authorization ? { authorization } : {}),
						...(body ? { 'content-type': 'application/json' } : {}),
					},
					body: body ? JSON.stringify(body) : undefined,
				})
				await expectError(res, 401, 'UNAUTHORIZED')
			}
		}
	})

	it('answers 400 for an id that is not a uuid and 404 for an unknown one', async () => {
		for (const [method, suffix] of [
			['GET', ''],
			['GET', '/qr'],
			['POST', '/start'],
			['POST', '/stop'],
			['DELETE', ''],
		] as const) {
			await expectError(await alice.fetch(`/sessions/not-a-uuid${suffix}`, { method }), 400, 'VALIDATION_FAILED')
			await expectError(await alice.fetch(`/sessions/${UNKNOWN}${suffix}`, { method }), 404, 'NOT_FOUND')
		}
		await expectError(await send(`/sessions/${UNKNOWN}/messages`, { to: '+15550100001', text: 'hi' }), 404, 'NOT_FOUND')
	})
})

describe('POST /sessions', () => {
	it.each([
		['an empty name', { name: '' }],
		['a name that is too long', { name: 'x'.repeat(101) }],
		['a name with control characters', { name: 'bad\u0000name' }],
		['a name that is not a string', { name: 42 }],
		['a phone number that is not a string', { phoneNumber: 15550100001 }],
	])('refuses %s with 400', async (_, body) => {
		await expectError(await send('/sessions', body), 400, 'VALIDATION_FAILED')
	})

	it.each([
		['null', null],
		['an array', [{ name: 'x' }]],
		['a string', 'name'],
	])('refuses a body that is %s, not a JSON object, with 400 MALFORMED_BODY', async (_, body) => {
		await expectError(await send('/sessions', body), 400, 'MALFORMED_BODY')
	})

	it.each(['hello', '0151 1234567', '+1 555', '+1 555 010 0001 0002 0003'])(
		'refuses the phone number %p with 400 INVALID_PHONE_NUMBER',
		async (phoneNumber) => {
			const error = await expectError(await send('/sessions', { phoneNumber }), 400, 'INVALID_PHONE_NUMBER')
			// The field named, for a form to show its sentence beside it.
			expect(error.details).toEqual({ field: 'phoneNumber', message: 'must be an international number with its country code, e.g. +1 555-777 0003' })
		},
	)

	it('refuses a blank name with 400 INVALID_NAME, and names a session without one', async () => {
		const error = await expectError(await send('/sessions', { name: '   ' }), 400, 'INVALID_NAME')
		expect(error.message).toBe('name must not be blank; leave it out for a numbered name')
	})

	it('refuses a body that is not JSON', async () => {
		await expectError(await send('/sessions', '{"name": '), 400, 'MALFORMED_BODY')
	})
})

describe('GET /sessions', () => {
	it.each(['limit=0', 'limit=201', 'limit=abc', 'limit=1.5', 'cursor='])('refuses %p with 400', async (query) => {
		await expectError(await alice.fetch(`/sessions?${query}`), 400, 'VALIDATION_FAILED')
	})

	it('refuses a cursor it did not issue, or issued for another list, with 400 INVALID_CURSOR', async () => {
		await alice.post('/sessions', {})
		const { body } = await alice.get('/sessions?limit=1')
		const [payload, mac] = (body.nextCursor as string).split('.')
		const tampered = `${Buffer.from(JSON.stringify(['00000000-0000-0000-0000-000000000000'])).toString('base64url')}.${mac}`
		const bob = clientFor(app, await createVerifiedUser(app))
		for (const [client, cursor] of [
			[alice, 'garbage'],
			[alice, tampered],
			[alice, `${payload}.`],
			[alice, `${payload}.${mac}x`],
			[bob, body.nextCursor],
		] as const)
			await expectError(await client.fetch(`/sessions?cursor=${encodeURIComponent(cursor)}`), 400, 'INVALID_CURSOR')
	})
})

describe('GET /sessions/:id/qr', () => {
	it('refuses an unknown format with 400, and answers 404 NO_QR while there is nothing to scan', async () => {
		await expectError(await alice.fetch(`/sessions/${session.id}/qr?format=gif`), 400, 'VALIDATION_FAILED')
		const noQr = await expectError(await alice.fetch(`/sessions/${session.id}/qr`), 404, 'NO_QR')
		expect(noQr.details).toEqual({ status: 'starting' })
	})
})

describe('POST /sessions/:id/messages', () => {
	const path = () => `/sessions/${session.id}/messages`

	it.each([
		'hello',
		'555-010',
		'0151 1234567',
		'++15550100001',
		'abc@s.whatsapp.net',
		'15550100001@example.com',
		'status@broadcast',
		'abc@lid',
		'12@g.us',
	])('refuses the recipient %p with 400 INVALID_RECIPIENT', async (to) => {
		await expectError(await send(path(), { to, text: 'hi' }), 400, 'INVALID_RECIPIENT')
	})

	it.each([
		['no recipient', { text: 'hi' }],
		['an empty text', { to: '+15550100001', text: '' }],
		['a text that is not a string', { to: '+15550100001', text: { conversation: 'hi' } }],
		['a recipient that is not a string', { to: 15550100001, text: 'hi' }],
		['a text over 65,536 characters', { to: '+15550100001', text: 'x'.repeat(65_537) }],
		['a recipient over 320 characters', { to: `${'1'.repeat(330)}@s.whatsapp.net`, text: 'hi' }],
	])('refuses %s with 400', async (_, body) => {
		await expectError(await send(path(), body), 400, 'VALIDATION_FAILED')
	})

	it.each([
		['nothing to send', { to: '+15550100001' }],
		['two kinds at once', { to: '+15550100001', text: 'hi', location: { latitude: 1, longitude: 2 } }],
	])('refuses %s with 400 INVALID_CONTENT', async (_, body) => {
		await expectError(await send(path(), body), 400, 'INVALID_CONTENT')
	})

	it('refuses a text of only whitespace with 400 INVALID_TEXT', async () => {
		await expectError(await send(path(), { to: '+15550100001', text: ' \n\t ' }), 400, 'INVALID_TEXT')
	})

	it.each([
		['a NUL character', 'a\u0000b'],
		['a lone surrogate', 'broken \ud800 text'],
	])('refuses a text with %s with 400 VALIDATION_FAILED naming the field', async (_, text) => {
		const error = await expectError(await send(path(), { to: '+15550100001', text }), 400, 'VALIDATION_FAILED')
		expect(error.details).toEqual([{ field: 'text', message: 'must be valid Unicode text without NUL characters' }])
	})

	it('refuses a body over the size limit with 413', async () => {
		await expectError(await send(path(), { to: '+15550100001', text: 'x'.repeat(200_000) }), 413, 'PAYLOAD_TOO_LARGE')
	})

	it.each([['with spaces'], ['x'.repeat(256)], ['naïve']])('refuses the Idempotency-Key %p with 400', async (key) => {
		const res = await alice
			.fetch(path(), {
				method: 'POST',
				headers: { 'content-type': 'application/json', 'idempotency-key': key },
				body: JSON.stringify({ to: '+15550100001', text: 'hi' }),
			})
			.catch(() => null)
		// A header value outside Latin-1 cannot even be sent; the others reach the API and fail validation.
		if (res) await expectError(res, 400, 'VALIDATION_FAILED')
	})

	it('answers 409 for a valid message to a session that is not connected', async () => {
		const answer = await send(path(), { to: '+1 555-010 0001', text: 'hi' })
		// A starting session comes up on its own: the answer says when to ask again.
		expect(answer.headers.get('retry-after')).toBe('5')
		const res = await expectError(answer, 409, 'SESSION_NOT_CONNECTED')
		expect(res.details).toEqual({ status: 'starting' })
		expect(res.message).toBe('The session is not connected (status: starting); it is starting: wait for status connected')
	})
})

describe('a session that lost its connection', () => {
	it('names the reason in its refusals while it reconnects', async () => {
		const lost = (await alice.post<ApiSession>('/sessions', { name: 'lost' })).body
		const reason = 'WebSocket Error (getaddrinfo ENOTFOUND web.whatsapp.com)'
		// No runner here: the status is set as a runner would set it.
		const sql = postgres(app.database.url, { max: 1, onnotice: () => {} })
		try {
			await sql`update sessions set status = 'reconnecting', last_error = ${reason} where id = ${lost.id}`
		} finally {
			await sql.end()
		}
		const answer = await send(`/sessions/${lost.id}/messages`, { to: '+1 555-010 0001', text: 'hi' })
		expect(answer.headers.get('retry-after')).toBe('5')
		const sent = await expectError(answer, 409, 'SESSION_NOT_CONNECTED')
		expect(sent.message).toBe(`The session is not connected (status: reconnecting: ${reason}); it reconnects on its own: wait for status connected`)
		expect(sent.details).toEqual({ status: 'reconnecting', lastError: reason })
		const noQr = await expectError(await alice.fetch(`/sessions/${lost.id}/qr`), 404, 'NO_QR')
		expect(noQr.message).toBe(`There is no QR to scan (status: reconnecting: ${reason}); QRs exist while the status is qr`)
		expect(noQr.details).toEqual({ status: 'reconnecting', lastError: reason })
	})
})
