import { afterAll, beforeAll, describe, expect, it } from 'bun:test'
import postgres from 'postgres'
import { loadConfig } from '../../src/config'
import { createLogger } from '../../src/logger'
import { api, createVerifiedUser, expectError } from '../helpers/accounts'
import { createApiKey } from '../helpers/api-keys'
import { startTestApp, type TestApp } from '../helpers/app'
import { rawExchange } from '../helpers/raw-http'
import { until } from '../helpers/until'
import { openSocket } from '../helpers/ws'

/**
 * What reaches the logs: ids, codes and reasons, never what a user wrote or presented. Every line
 * the server logs is kept here and searched.
 */

const lines: string[] = []
const logger = createLogger(loadConfig({ NODE_ENV: 'test', LOG_LEVEL: 'debug' }), 'switchboard', {
	write: (line: string) => void lines.push(line),
})

let app: TestApp
let sql: postgres.Sql

beforeAll(async () => {
	// The API alone: a runner would move the session the test marks connected to a status of its own meanwhile.
	app = await startTestApp({ ROLES: 'api' }, {}, { logger })
	sql = postgres(app.database.url, { max: 1, onnotice: () => {} })
})
afterAll(async () => {
	await sql.end()
	await app.close()
})

const entries = () => lines.map((line) => JSON.parse(line) as Record<string, unknown>)

describe('the logs', () => {
	it('keep the text, recipient and parameters of a send that fails in the database out, and its request id in', async () => {
		const alice = await createVerifiedUser(app)
		const session = (await (await api(app).post('/sessions', { name: 'logs' }, alice.headers)).json()) as { id: string }
		await sql`update sessions set status = 'connected' where id = ${session.id}`
		// The outbox refuses every row from now on: the send's transaction fails inside PostgreSQL.
		await sql.unsafe(`create function refuse_outbox() returns trigger language plpgsql as $$ begin raise exception 'outbox refused'; end $$;
			create trigger refuse_outbox before insert on outbox for each row execute function refuse_outbox()`)
		const secretText = 'the most private words 7f3a'
		const res = await api(app).post(`/sessions/${session.id}/messages`, { to: '+1 555 0199 4242', text: secretText }, alice.headers)
		await sql.unsafe('drop trigger refuse_outbox on outbox; drop function refuse_outbox()')
		expect(res.status).toBe(500)
		const requestId = res.headers.get('x-request-id')
		const failure = entries().find((e) => e.msg === 'unhandled error' && e.reqId === requestId)
		expect(failure).toBeDefined()
		expect(JSON.stringify(failure)).toContain('outbox refused')
		const all = lines.join('\n')
		expect(all).not.toContain('7f3a')
		expect(all).not.toContain('15550199')
		expect(all).not.toContain('0199 4242')
	})

	it('record refused logins with the reason and the client address, and nothing that was presented', async () => {
		const alice = await createVerifiedUser(app)
		const res = await api(app, '10.9.8.7').post('/auth/login', { email: alice.email, password: 'not her password 91c2' })
		await expectError(res, 401, 'INVALID_CREDENTIALS')
		const refused = entries().find((e) => e.reason === 'INVALID_CREDENTIALS' && e.reqId === res.headers.get('x-request-id'))
		expect(refused).toMatchObject({ level: 30, status: 401, address: '10.9.8.7', path: '/auth/login' })
		expect(lines.join('\n')).not.toContain('91c2')
	})

	it('record requests refused for a missing or bad token, without the token', async () => {
		const res = await api(app, '10.9.8.6').get('/sessions', { authorization: 'Bearer forged.token.c0ffee' })
		await expectError(res, 401, 'UNAUTHORIZED')
		expect(entries().find((e) => e.reqId === res.headers.get('x-request-id'))).toMatchObject({
			level: 30,
			reason: 'UNAUTHORIZED',
			address: '10.9.8.6',
		})
		expect(lines.join('\n')).not.toContain('c0ffee')
	})

	it('never contain an API key, and record refused keys with the reason, the key’s public prefix and the client address', async () => {
		const alice = await createVerifiedUser(app)
		const key = await createApiKey(app, alice, ['sessions:read', 'messages:read'])
		const secret = key.key.slice(key.prefix.length)
		expect((await api(app).get('/sessions', key.headers)).status).toBe(200)
		expect((await api(app).get('/sessions', { 'x-api-key': key.key })).status).toBe(200)
		await expectError(await api(app).post('/sessions', { name: 'x' }, key.headers), 403, 'INSUFFICIENT_SCOPE')
		const socket = openSocket(app.url, {}, key.headers)
		await socket.next((m) => m.type === 'session.snapshot')
		expect((await fetch(`${app.url}/api-keys/${key.id}`, { method: 'DELETE', headers: alice.headers })).status).toBe(204)
		await socket.closed
		const res = await api(app, '10.9.8.5').get('/sessions', { 'x-api-key': key.key })
		await expectError(res, 401, 'INVALID_API_KEY')
		expect(entries().find((e) => e.reqId === res.headers.get('x-request-id'))).toMatchObject({
			level: 30,
			reason: 'INVALID_API_KEY',
			cause: 'revoked',
			keyPrefix: key.prefix,
			address: '10.9.8.5',
		})
		const all = lines.join('\n')
		expect(all).not.toContain(secret)
		expect(all).not.toContain(secret.slice(0, 16))
	})

	it('record a body the client cut off or Bun could not frame as ended by the client, not as an unhandled error', async () => {
		const alice = await createVerifiedUser(app)
		const requestId = 'cut-off-upload-1'
		// A chunk size that is not hex: Bun answers 400 itself, and the route's read of the body fails.
		const answer = await rawExchange(
			app.url,
			`POST /media HTTP/1.1\r\nHost: localhost\r\nAuthorization: ${alice.headers.authorization}\r\nX-Request-Id: ${requestId}\r\nContent-Type: image/png\r\nTransfer-Encoding: chunked\r\n\r\nZZ\r\nhello\r\n0\r\n\r\n`,
		)
		expect(answer).toStartWith('HTTP/1.1 400')
		const line = await until(() => entries().find((e) => e.reqId === requestId), 'the log line of the cut-off upload')
		expect(line).toMatchObject({ level: 30, msg: 'request ended by the client before it was read', method: 'POST', path: '/media' })
		expect(entries().filter((e) => e.msg === 'unhandled error' && e.reqId === requestId)).toEqual([])
	})
})
