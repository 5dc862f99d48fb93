import { afterAll, beforeAll, describe, expect, it } from 'bun:test'
import { t } from 'elysia'
import { composeApi } from '../../src/server'
import { loadConfig } from '../../src/config'
import { openPostgres } from '../../src/db/client'
import { ConflictError } from '../../src/core/errors'
import { createLogger } from '../../src/logger'
import { createTestDatabase, type TestDatabase } from '../helpers/database'
import { rawExchange } from '../helpers/raw-http'

// The app under test plus four probe routes: the error model is a property of the whole app,
// so it is exercised through routes that fail in each possible way.
let testDb: TestDatabase
let base: string
let stop: () => Promise<unknown>
let closeDb: () => Promise<void>

beforeAll(async () => {
	testDb = await createTestDatabase()
	const config = loadConfig({ NODE_ENV: 'test', LOG_LEVEL: 'silent', BODY_LIMIT_BYTES: '4096' })
	const database = openPostgres({ url: testDb.url })
	closeDb = () => database.close()
	const api = composeApi(config, createLogger(config), { database, redis: null, bus: null, relay: null })
	const app = api.app
		.post('/probe/echo', ({ body }) => body, {
			body: t.Object({ name: t.String({ minLength: 2, maxLength: 50 }), count: t.Integer({ minimum: 0 }) }),
		})
		.get('/probe/crash', () => {
			throw new Error('db password is hunter2 at /srv/app.ts:12')
		})
		.get('/probe/bad-answer', () => ({ name: 'secret-value-7' }) as unknown as { id: string }, {
			response: { 200: t.Object({ id: t.String() }) },
		})
		.get('/probe/conflict', () => {
			throw new ConflictError('ALREADY_THERE', 'It exists', { id: 'x' })
		})
		.listen({ port: 0, hostname: '127.0.0.1' })
	base = `http://127.0.0.1:${app.server!.port}`
	stop = async () => {
		await app.stop(true)
		await api.close()
	}
})
afterAll(async () => {
	await stop()
	await closeDb()
	await testDb.drop()
})

const postJson = (path: string, body: string, headers: Record<string, string> = {}) =>
	fetch(base + path, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body })

async function expectError(res: Response, status: number, code: string) {
	expect(res.status).toBe(status)
	expect(res.headers.get('content-type')).toContain('application/json')
	const body = (await res.json()) as { error: { code: string; message: string; details?: unknown } }
	expect(body.error.code).toBe(code)
	expect(body.error.message.length).toBeGreaterThan(0)
	return body.error
}

describe('error model', () => {
	it('answers a valid request normally', async () => {
		const res = await postJson('/probe/echo', JSON.stringify({ name: 'ok', count: 1 }))
		expect(res.status).toBe(200)
		expect(await res.json()).toEqual({ name: 'ok', count: 1 })
	})

	it('maps a validation failure to 400 with the fields that failed', async () => {
		const error = await expectError(await postJson('/probe/echo', JSON.stringify({ name: 'a', count: -1 })), 400, 'VALIDATION_FAILED')
		const fields = (error.details as { field: string }[]).map((d) => d.field)
		expect(fields).toContain('name')
		expect(fields).toContain('count')
	})

	it('maps a missing body to 400', async () => {
		await expectError(await fetch(`${base}/probe/echo`, { method: 'POST' }), 400, 'VALIDATION_FAILED')
	})

	it('maps malformed JSON to 400 MALFORMED_BODY', async () => {
		await expectError(await postJson('/probe/echo', '{"name": "ok", '), 400, 'MALFORMED_BODY')
	})

	it('maps an unknown route to 404 ROUTE_NOT_FOUND', async () => {
		const error = await expectError(await fetch(`${base}/nowhere`), 404, 'ROUTE_NOT_FOUND')
		expect(error.message).toContain('/nowhere')
	})

	it('answers a method a path has no route for with 405 and the methods it has, OPTIONS with those methods, and a path none has with 404', async () => {
		const put = await fetch(`${base}/sessions`, { method: 'PUT' })
		expect(put.headers.get('allow')).toBe('GET, HEAD, POST')
		const error = await expectError(put, 405, 'METHOD_NOT_ALLOWED')
		expect(error).toEqual({
			code: 'METHOD_NOT_ALLOWED',
			message: 'PUT is not allowed on /sessions; it takes GET, HEAD, POST',
			details: { allowed: ['GET', 'HEAD', 'POST'] },
		})
		const withId = await fetch(`${base}/sessions/0197f0c2-3a4b-7c5d-8e9f-0a1b2c3d4e5f/qr`, { method: 'DELETE' })
		expect(withId.headers.get('allow')).toBe('GET, HEAD')
		await expectError(withId, 405, 'METHOD_NOT_ALLOWED')
		const options = await fetch(`${base}/sessions`, { method: 'OPTIONS' })
		expect({ status: options.status, allow: options.headers.get('allow') }).toEqual({ status: 204, allow: 'GET, HEAD, POST' })
		await expectError(await fetch(`${base}/nowhere`, { method: 'PUT' }), 404, 'ROUTE_NOT_FOUND')
		await expectError(await fetch(`${base}/sessions/0197f0c2-3a4b-7c5d-8e9f-0a1b2c3d4e5f/nothing`), 404, 'ROUTE_NOT_FOUND')
	})

	it('answers a WebSocket route asked without an upgrade with 426 saying to use a WebSocket client', async () => {
		const res = await fetch(`${base}/ws/sessions`)
		expect(res.headers.get('upgrade')).toBe('websocket')
		const error = await expectError(res, 426, 'UPGRADE_REQUIRED')
		expect(error.message).toBe('/ws/sessions is a WebSocket endpoint: connect to it with a WebSocket client (ws:// or wss://)')
	})

	it('maps an oversized body to 413 before reading it', async () => {
		const body = JSON.stringify({ name: 'x'.repeat(10_000), count: 1 })
		await expectError(await postJson('/probe/echo', body), 413, 'PAYLOAD_TOO_LARGE')
	})

	it('maps an unhandled exception to 500 without leaking its message or stack', async () => {
		const res = await fetch(`${base}/probe/crash`)
		const text = await res.clone().text()
		await expectError(res, 500, 'INTERNAL')
		expect(text).not.toContain('hunter2')
		expect(text).not.toContain('.ts')
	})

	it('maps a response that fails its own schema to 500, not to a 400 blaming the request, without its values', async () => {
		const res = await fetch(`${base}/probe/bad-answer`)
		const text = await res.clone().text()
		await expectError(res, 500, 'INTERNAL')
		expect(text).not.toContain('secret-value-7')
	})

	it('maps a service error to its status, code and details', async () => {
		const error = await expectError(await fetch(`${base}/probe/conflict`), 409, 'ALREADY_THERE')
		expect(error.details).toEqual({ id: 'x' })
	})

	it('gives every response a request id, keeping a sane one from the caller', async () => {
		expect((await fetch(`${base}/health`)).headers.get('x-request-id')).toMatch(/^[0-9a-f-]{36}$/)
		const echoed = await fetch(`${base}/health`, { headers: { 'x-request-id': 'trace-42' } })
		expect(echoed.headers.get('x-request-id')).toBe('trace-42')
		const replaced = await fetch(`${base}/health`, { headers: { 'x-request-id': 'bad id\u0001' } })
		expect(replaced.headers.get('x-request-id')).not.toBe('bad id\u0001')
	})
})

/** The status, type and body the server answers to these exact bytes. */
async function rawAnswer(request: string): Promise<{ status: number; contentType: string; body: string }> {
	const text = await rawExchange(base, request)
	const [head = '', body = ''] = text.split('\r\n\r\n')
	return {
		status: Number(head.split(' ')[1]),
		contentType: /content-type: ([^\r\n]+)/i.exec(head)?.[1] ?? '',
		body,
	}
}

describe('a request without a usable Host header', () => {
	it.each([
		['none (HTTP/1.0)', 'GET /health HTTP/1.0\r\n\r\n'],
		['an empty one', 'GET /sessions HTTP/1.1\r\nHost: \r\nConnection: close\r\n\r\n'],
		['one with a space', 'GET /sessions HTTP/1.1\r\nHost: a b\r\nConnection: close\r\n\r\n'],
		['a port out of range', 'GET /health HTTP/1.1\r\nHost: x:99999\r\nConnection: close\r\n\r\n'],
	])('answers 400 BAD_REQUEST in JSON for %s', async (_, request) => {
		const res = await rawAnswer(request)
		expect(res.status).toBe(400)
		expect(res.contentType).toContain('application/json')
		expect(JSON.parse(res.body)).toEqual({ error: { code: 'BAD_REQUEST', message: expect.stringContaining('Host header') } })
	})

	it('answers 400 for a host too short to route by, rather than route by a part of the path', async () => {
		// Elysia would read `/abcd/health` as `/health` here.
		const res = await rawAnswer('GET /abcd/health HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n')
		expect(res.status).toBe(400)
		expect(JSON.parse(res.body).error.message).toBe(
			'The Host header `a` is too short for this server to route by: reach it by a name (and port) of 4 characters or more',
		)
		const withPort = await rawAnswer('GET /health HTTP/1.1\r\nHost: a:3000\r\nConnection: close\r\n\r\n')
		expect(withPort.status).toBe(200)
	})
})
