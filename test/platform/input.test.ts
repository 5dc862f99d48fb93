import { afterAll, beforeAll, describe, expect, it } from 'bun:test'
import { api, createVerifiedUser, expectError, type LoggedInUser } from '../helpers/accounts'
import { startTestApp, type TestApp } from '../helpers/app'
import { rawExchange } from '../helpers/raw-http'

/** How bodies, queries and paths are let in: sizes counted as read, JSON objects only, clean text. */

const LIMIT = 4096
let app: TestApp
let alice: LoggedInUser

beforeAll(async () => {
	app = await startTestApp({ BODY_LIMIT_BYTES: String(LIMIT) })
	alice = await createVerifiedUser(app)
})
afterAll(() => app.close())

/** A body sent in chunks, with no Content-Length: what the server reads is all it knows. */
function chunked(totalBytes: number): ReadableStream<Uint8Array> {
	const chunk = new TextEncoder().encode(`${'x'.repeat(1023)} `)
	let sent = 0
	return new ReadableStream({
		pull(controller) {
			if (sent >= totalBytes) return controller.close()
			controller.enqueue(chunk)
			sent += chunk.byteLength
		},
	})
}

describe('the body limit', () => {
	it('refuses a declared length over the limit with a JSON 413', async () => {
		await expectError(await api(app).post('/sessions', { name: 'x'.repeat(LIMIT) }, alice.headers), 413, 'PAYLOAD_TOO_LARGE')
	})

	it.each(['/sessions', '/media'])('refuses any declared length, however large, with a JSON 413 on %s before the body arrives', async (path) => {
		// 50 GB: far above every limit, the media one included. Only the head is sent; the answer comes without the body.
		const text = await rawExchange(
			app.url,
			`POST ${path} HTTP/1.1\r\nHost: localhost\r\nAuthorization: ${alice.headers.authorization}\r\nContent-Type: application/json\r\nContent-Length: 50000000000\r\n\r\n{}`,
		)
		const [head = '', body = ''] = text.split('\r\n\r\n')
		expect(head).toStartWith('HTTP/1.1 413')
		expect(JSON.parse(body).error).toMatchObject({ code: 'PAYLOAD_TOO_LARGE', message: expect.stringContaining('larger than') })
	})

	it('refuses a chunked body over the limit with 413, counting what it reads', async () => {
		const res = await fetch(`${app.url}/sessions`, {
			method: 'POST',
			headers: { ...alice.headers, 'content-type': 'application/json', 'x-forwarded-for': '10.1.1.1' },
			body: chunked(2 * 1024 * 1024),
		})
		await expectError(res, 413, 'PAYLOAD_TOO_LARGE')
	})
})

describe('request bodies', () => {
	it('are JSON only: a form post to the login answers 415', async () => {
		const res = await api(app).post('/auth/login', `email=${encodeURIComponent(alice.email)}&password=${encodeURIComponent(alice.password)}`, {
			'content-type': 'application/x-www-form-urlencoded',
		})
		await expectError(res, 415, 'UNSUPPORTED_MEDIA_TYPE')
	})

	it('are JSON only: text/plain and multipart answer 415 too', async () => {
		await expectError(
			await api(app).post('/sessions', '{"name":"x"}', { ...alice.headers, 'content-type': 'text/plain' }),
			415,
			'UNSUPPORTED_MEDIA_TYPE',
		)
		const form = new FormData()
		form.set('name', 'x')
		const res = await fetch(`${app.url}/sessions`, { method: 'POST', headers: { ...alice.headers, 'x-forwarded-for': '10.1.1.2' }, body: form })
		await expectError(res, 415, 'UNSUPPORTED_MEDIA_TYPE')
	})

	it('are JSON objects: an array or a number answers 400 MALFORMED_BODY', async () => {
		for (const body of ['[]', '42', '"name"', 'null']) await expectError(await api(app).post('/sessions', body, alice.headers), 400, 'MALFORMED_BODY')
	})

	it('are UTF-8: invalid bytes answer 400 MALFORMED_BODY', async () => {
		const res = await fetch(`${app.url}/sessions`, {
			method: 'POST',
			headers: { ...alice.headers, 'content-type': 'application/json', 'x-forwarded-for': '10.1.1.3' },
			body: new Uint8Array([0x7b, 0x22, 0x6e, 0x22, 0x3a, 0x22, 0xff, 0xfe, 0x22, 0x7d]),
		})
		await expectError(res, 400, 'MALFORMED_BODY')
	})
})

describe('text in bodies, queries and paths', () => {
	it('refuses a lone surrogate in a session name with 400 naming the field', async () => {
		const error = await expectError(await api(app).post('/sessions', '{"name":"bad \\ud800 name"}', alice.headers), 400, 'VALIDATION_FAILED')
		expect(error.details).toEqual([{ field: 'name', message: 'must be valid Unicode text without NUL characters' }])
	})

	it('refuses a NUL in a search query with 400 naming the parameter', async () => {
		await api(app).post('/sessions', { name: 'only one' }, alice.headers)
		const error = await expectError(await api(app).get('/contacts?q=ab%00cd', alice.headers), 400, 'VALIDATION_FAILED')
		expect(error.details).toEqual([{ field: 'q', message: 'must be valid Unicode text without NUL characters' }])
	})

	it('refuses escapes that are not UTF-8 (%FF, a lone surrogate) in the query or the path, rather than read them as text', async () => {
		const inQuery = await expectError(await api(app).get('/contacts?limit=5&q=%FF', alice.headers), 400, 'VALIDATION_FAILED')
		expect(inQuery.details).toEqual([{ field: 'q', message: 'must be valid Unicode text without NUL characters' }])
		const inPath = await expectError(await api(app).get('/chats/%ED%A0%80@s.whatsapp.net/messages', alice.headers), 400, 'VALIDATION_FAILED')
		expect(inPath.details).toEqual([{ field: 'jid', message: 'must be valid Unicode text without NUL characters' }])
		// Escaped UTF-8, `+` for a space and `=` inside a value are text like any other.
		const { items } = (await (await api(app).get('/sessions', alice.headers)).json()) as { items: { id: string }[] }
		const sessionId = items[0]?.id ?? ((await (await api(app).post('/sessions', { name: 'search' }, alice.headers)).json()) as { id: string }).id
		expect((await api(app).get(`/contacts?sessionId=${sessionId}&q=caf%C3%A9+au=lait`, alice.headers)).status).toBe(200)
	})

	it('refuses a query parameter given twice, rather than keep one of them without a word', async () => {
		const error = await expectError(await api(app).get('/sessions?limit=1&limit=2', alice.headers), 400, 'VALIDATION_FAILED')
		expect(error.message).toBe('Query string is invalid: limit is given more than once')
		expect(error.details).toEqual([{ field: 'limit', message: 'is given more than once' }])
	})

	it.each([
		['0x10', '0x10'],
		['1e1', '1e1'],
		['%2B5', '+5'],
		['%205', ' 5'],
	])('refuses a number in the query written as %s, which JavaScript would read as a number, and takes decimal digits', async (sent, shown) => {
		const error = await expectError(await api(app).get(`/sessions?limit=${sent}`, alice.headers), 400, 'VALIDATION_FAILED')
		expect(error.details).toEqual([{ field: 'limit', message: `must be written in decimal digits (not \`${shown}\`)` }])
		expect((await api(app).get('/sessions?limit=10', alice.headers)).status).toBe(200)
		expect((await api(app).get('/sessions?limit=010', alice.headers)).status).toBe(200)
	})

	it('refuses a NUL in a path parameter with 400', async () => {
		await expectError(await api(app).get('/chats/a%00b@s.whatsapp.net/messages', alice.headers), 400, 'VALIDATION_FAILED')
	})
})

describe('fields a route does not have', () => {
	it('refuses a misspelt field with 400 UNKNOWN_FIELD naming it, and creates nothing', async () => {
		const error = await expectError(await api(app).post('/sessions', { nmae: 'Support' }, alice.headers), 400, 'UNKNOWN_FIELD')
		expect(error.details).toEqual({ fields: ['nmae'] })
		const { items } = (await (await api(app).get('/sessions', alice.headers)).json()) as { items: { name: string }[] }
		expect(items.some((s) => s.name === 'Support')).toBe(false)
	})

	it('names a nested field by its path, and only the outermost of a field that is unknown as a whole', async () => {
		const error = await expectError(
			await api(app).post('/auth/login', { email: alice.email, password: alice.password, remember: { me: true, for: [1, 2] } }),
			400,
			'UNKNOWN_FIELD',
		)
		expect(error.details).toEqual({ fields: ['remember'] })
	})

	it('names a misspelt field rather than the field it was meant to be, when the body is invalid without it', async () => {
		// `emial` for `email`: "email is required" would hide the typo.
		const login = await expectError(await api(app).post('/auth/login', { emial: alice.email, password: alice.password }), 400, 'UNKNOWN_FIELD')
		expect(login.details).toEqual({ fields: ['emial'] })
		// A PATCH needs one field: `enabeld` alone said "needs at least one of: …, enabled".
		const { id } = (await (await api(app).post('/webhooks', { url: 'https://example.com/hook' }, alice.headers)).json()) as { id: string }
		const patch = await expectError(await api(app).patch(`/webhooks/${id}`, { enabeld: false }, alice.headers), 400, 'UNKNOWN_FIELD')
		expect(patch.message).toStartWith('`enabeld` is not a field')
		const { enabled } = (await (await api(app).get(`/webhooks/${id}`, alice.headers)).json()) as { enabled: boolean }
		expect(enabled).toBe(true)
	})

	it('refuses any field sent to a route that takes no body, and does nothing; an empty object is no field', async () => {
		const { id } = (await (await api(app).post('/sessions', {}, alice.headers)).json()) as { id: string }
		// `force` is no option of a stop: the session must not stop as if it were.
		const stop = await expectError(await api(app).post(`/sessions/${id}/stop`, { force: true }, alice.headers), 400, 'UNKNOWN_FIELD')
		expect(stop.details).toEqual({ fields: ['force'] })
		expect(stop.message).toStartWith("`force` is not a field of this request's body")
		const { desiredState } = (await (await api(app).get(`/sessions/${id}`, alice.headers)).json()) as { desiredState: string }
		expect(desiredState).toBe('running')
		expect((await api(app).post(`/sessions/${id}/stop`, {}, alice.headers)).status).toBe(202)
	})

	it('reads no body as {}: a route whose fields are all optional takes its defaults, one with required fields names them', async () => {
		const created = await fetch(`${app.url}/sessions`, { method: 'POST', headers: alice.headers })
		expect(created.status).toBe(201)
		expect(((await created.json()) as { name: string }).name).toStartWith('Session')
		const login = await expectError(await fetch(`${app.url}/auth/login`, { method: 'POST' }), 400, 'VALIDATION_FAILED')
		expect(login.details).toEqual([
			{ field: 'email', message: 'is required' },
			{ field: 'password', message: 'is required' },
		])
	})

	it('refuses a query parameter a route that declares its parameters does not have, before anything is done', async () => {
		const list = await expectError(await api(app).get('/sessions?limt=5', alice.headers), 400, 'UNKNOWN_FIELD')
		expect(list.details).toEqual({ fields: ['limt'] })
		expect(list.message).toStartWith("`limt` is not a parameter of this request's query string")
		// A misspelt `for=me` would otherwise delete the message for everyone.
		const deleted = await fetch(`${app.url}/chats/15550000001@s.whatsapp.net/messages/3EB0AA?fro=me`, { method: 'DELETE', headers: alice.headers })
		expect((await expectError(deleted, 400, 'UNKNOWN_FIELD')).details).toEqual({ fields: ['fro'] })
		expect((await api(app).get('/sessions?limit=5', alice.headers)).status).toBe(200)
		// The WebSocket's upgrade too: `sinse` would otherwise open it without the events missed.
		const upgrade = {
			...alice.headers,
			connection: 'Upgrade',
			upgrade: 'websocket',
			'sec-websocket-version': '13',
			'sec-websocket-key': 'dGhlIHNhbXBsZSBub25jZQ==',
		}
		const ws = await fetch(`${app.url}/ws/sessions?sinse=1-0`, { headers: upgrade })
		expect((await expectError(ws, 400, 'UNKNOWN_FIELD')).details).toEqual({ fields: ['sinse'] })
	})

	it('lets a route that declares no query parameters take any, as a cache-busting one', async () => {
		const { id } = (await (await api(app).post('/sessions', {}, alice.headers)).json()) as { id: string }
		expect((await api(app).get(`/sessions/${id}?v=2`, alice.headers)).status).toBe(200)
	})

	it('answers 401 before it: a caller without a credential learns nothing of the schema', async () => {
		await expectError(await api(app).post('/sessions', { nmae: 'x' }), 401, 'UNAUTHORIZED')
		await expectError(await api(app).get('/sessions?limt=5'), 401, 'UNAUTHORIZED')
	})
})
