import { afterAll, beforeAll, describe, expect, it } from 'bun:test'
import { createVerifiedUser, expectError } from '../helpers/accounts'
import { startTestApp, type TestApp } from '../helpers/app'
import { type ApiSession, type Client, clientFor } from '../helpers/sessions'

/** A refused value is answered with what it should be, in words, once per field: never a regex or a schema's inner name. */
let app: TestApp
let alice: Client
let session: ApiSession
let webhookId: string

beforeAll(async () => {
	app = await startTestApp({ ROLES: 'api' })
	alice = clientFor(app, await createVerifiedUser(app))
	session = (await alice.post<ApiSession>('/sessions', {})).body
	webhookId = (await alice.post<{ id: string }>('/webhooks', { url: 'https://example.com/hooks' })).body.id
})
afterAll(() => app?.close())

const send = (path: string, method: string, body: unknown, headers: Record<string, string> = {}) =>
	alice.fetch(path, { method, headers: { 'content-type': 'application/json', ...headers }, body: JSON.stringify(body) })

async function refused(res: Response, message: string, field: string) {
	const error = await expectError(res, 400, 'VALIDATION_FAILED')
	expect({ message: error.message, details: error.details }).toEqual({
		message,
		details: [{ field, message: message.slice(message.indexOf(`: ${field} `) + field.length + 3) }],
	})
}

describe('a refused value', () => {
	it.each(['0', '201', '-1', '1.5', 'abc', '1e309'])('limit=%p: says which integers it takes, naming the parameter', async (limit) => {
		await refused(await alice.fetch(`/sessions?limit=${limit}`), 'Query string is invalid: limit must be an integer from 1 to 200', 'limit')
	})

	it('one of a few values: lists them', async () => {
		await refused(await alice.fetch(`/sessions/${session.id}/qr?format=gif`), 'Query string is invalid: format must be one of: png, svg', 'format')
		await refused(
			await alice.fetch(`/webhooks/${webhookId}/deliveries?state=lost`),
			'Query string is invalid: state must be one of: pending, delivered, failed',
			'state',
		)
		await refused(
			await send(`/chats/15550001111@s.whatsapp.net/presence?sessionId=${session.id}`, 'POST', { state: 'dancing' }),
			'Request body is invalid: state must be one of: typing, recording, paused',
			'state',
		)
	})

	it('a missing field: says it is required, once', async () => {
		await refused(
			await send(`/chats/15550001111@s.whatsapp.net/presence?sessionId=${session.id}`, 'POST', {}),
			'Request body is invalid: state is required',
			'state',
		)
		// Here TypeBox reports the missing string's type first ("Expected string").
		await refused(await send('/webhooks', 'POST', {}), 'Request body is invalid: url is required', 'url')
		await refused(await send('/auth/login', 'POST', { password: 'x' }), 'Request body is invalid: email is required', 'email')
	})

	it('a value of the wrong type: says which type it takes', async () => {
		await refused(await send('/webhooks', 'POST', { url: 5 }), 'Request body is invalid: url must be a string', 'url')
		await refused(await send('/api-keys', 'POST', { name: 'ci', scopes: '*' }), 'Request body is invalid: scopes must be a list', 'scopes')
	})

	it('a UUID or a token: says so, not the pattern', async () => {
		await refused(await alice.fetch('/chats?sessionId=42'), 'Query string is invalid: sessionId must be a UUID', 'sessionId')
		await refused(
			await send(`/chats/15550001111@s.whatsapp.net/messages?sessionId=${session.id}`, 'POST', { image: { mediaId: 'x' } }),
			'Request body is invalid: image.mediaId must be a UUID',
			'image.mediaId',
		)
		await refused(
			await send(`/chats/15550001111@s.whatsapp.net/messages?sessionId=${session.id}`, 'POST', { text: 'hi' }, { 'idempotency-key': 'two words' }),
			'A request header is invalid: idempotency-key must be printable ASCII without spaces',
			'idempotency-key',
		)
		await refused(
			await send('/sessions', 'POST', { name: 'two\nlines' }),
			'Request body is invalid: name must be one line, without control characters',
			'name',
		)
	})

	it('a value that may be null: says what else it may be', async () => {
		await refused(
			await send(`/webhooks/${webhookId}`, 'PATCH', { sessionIds: 'all' }),
			'Request body is invalid: sessionIds must be a list (or null)',
			'sessionIds',
		)
	})

	it('a value that may be null, of the right type but breaking a limit: says the limit, as where null is not allowed', async () => {
		const description = 'x'.repeat(501)
		const tooLong = 'Request body is invalid: description must be at most 500 characters long'
		await refused(await send('/webhooks', 'POST', { url: 'https://example.com/hooks', description }), tooLong, 'description')
		await refused(await send(`/webhooks/${webhookId}`, 'PATCH', { description }), tooLong, 'description')
		const notUuid = 'Request body is invalid: sessionIds.0 must be a UUID'
		await refused(await send('/webhooks', 'POST', { url: 'https://example.com/hooks', sessionIds: ['x'] }), notUuid, 'sessionIds.0')
		await refused(await send(`/webhooks/${webhookId}`, 'PATCH', { sessionIds: ['x'] }), notUuid, 'sessionIds.0')
		await refused(
			await send(`/webhooks/${webhookId}`, 'PATCH', { description: 5 }),
			'Request body is invalid: description must be a string (or null)',
			'description',
		)
	})

	it('a length counted in UTF-16 units: says so, with the count, where emoji make it differ from the characters', async () => {
		// 60 characters, 120 units: over the name's 100 as WhatsApp and JavaScript count.
		await refused(
			await send('/api-keys', 'POST', { name: '🚀'.repeat(60), scopes: ['*'] }),
			'Request body is invalid: name must be at most 100 characters long (counted in UTF-16 units, where most emoji count 2: this one counts 120)',
			'name',
		)
		await refused(
			await send('/api-keys', 'POST', { name: 'x'.repeat(101), scopes: ['*'] }),
			'Request body is invalid: name must be at most 100 characters long',
			'name',
		)
	})

	it('text and lists: say how long, and that an email address is one', async () => {
		await refused(await send('/api-keys', 'POST', { name: '', scopes: ['*'] }), 'Request body is invalid: name must not be empty', 'name')
		await refused(await send('/api-keys', 'POST', { name: 'k', scopes: [] }), 'Request body is invalid: scopes must list at least one', 'scopes')
		await refused(
			await send('/auth/login', 'POST', { email: 'not-an-address', password: 'whatever it is' }),
			'Request body is invalid: email must be an email address',
			'email',
		)
	})

	it('an update with nothing in it: names what it takes', async () => {
		await refused(
			await send(`/webhooks/${webhookId}`, 'PATCH', {}),
			'Request body is invalid: (root) needs at least one of: url, events, sessionIds, description, enabled',
			'(root)',
		)
	})
})
