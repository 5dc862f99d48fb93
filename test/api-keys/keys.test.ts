import { afterAll, beforeAll, describe, expect, it } from 'bun:test'
import { api, createVerifiedUser, expectError, type LoggedInUser } from '../helpers/accounts'
import { createApiKey } from '../helpers/api-keys'
import { startTestApp, type TestApp } from '../helpers/app'
import { openSocket } from '../helpers/ws'

let app: TestApp
let alice: LoggedInUser
beforeAll(async () => {
	app = await startTestApp({ ROLES: 'api' })
	alice = await createVerifiedUser(app)
})
afterAll(() => app?.close())

const del = (path: string, headers: Record<string, string>) => fetch(`${app.url}${path}`, { method: 'DELETE', headers })

describe('creating and listing API keys', () => {
	it('answers 201 with the key once, and lists it with its prefix but never the secret', async () => {
		const res = await api(app).post('/api-keys', { name: 'CRM sync', scopes: ['messages:read', 'sessions:read'] }, alice.headers)
		expect(res.status).toBe(201)
		const created = (await res.json()) as { id: string; key: string; prefix: string; scopes: string[]; name: string; createdAt: string }
		expect(created.key).toMatch(/^sbk_[A-Za-z0-9_-]{43}$/)
		expect(created.key.startsWith(created.prefix)).toBe(true)
		expect(created).toMatchObject({ name: 'CRM sync', scopes: ['sessions:read', 'messages:read'] })

		const list = await api(app).get('/api-keys', alice.headers)
		const text = await list.text()
		expect(text).not.toContain(created.key.slice(created.prefix.length))
		const { items, nextCursor } = JSON.parse(text) as { items: Record<string, unknown>[]; nextCursor: null }
		expect(nextCursor).toBeNull()
		expect(items.find((k) => k.id === created.id)).toEqual({
			id: created.id,
			name: 'CRM sync',
			scopes: ['sessions:read', 'messages:read'],
			prefix: created.prefix,
			createdBy: { id: alice.user.id, email: alice.email },
			createdAt: created.createdAt,
			lastUsedAt: null,
		})
	})

	it('lists every key on one page, and refuses paging parameters rather than ignore them', async () => {
		for (const query of ['?limit=1', '?cursor=abc', '?state=active']) {
			const refused = await expectError(await api(app).get(`/api-keys${query}`, alice.headers), 400, 'UNKNOWN_FIELD')
			expect(refused.message).toContain(query.slice(1, query.indexOf('=')))
		}
	})

	it('refuses a blank or long name, no scopes, and names an unknown scope', async () => {
		await expectError(await api(app).post('/api-keys', { name: '', scopes: ['*'] }, alice.headers), 400, 'VALIDATION_FAILED')
		await expectError(await api(app).post('/api-keys', { name: 'x'.repeat(101), scopes: ['*'] }, alice.headers), 400, 'VALIDATION_FAILED')
		await expectError(await api(app).post('/api-keys', { name: '   ', scopes: ['*'] }, alice.headers), 400, 'INVALID_NAME')
		await expectError(await api(app).post('/api-keys', { name: 'none', scopes: [] }, alice.headers), 400, 'VALIDATION_FAILED')
		const unknown = await expectError(
			await api(app).post('/api-keys', { name: 'typo', scopes: ['messages:read', 'mesages:send'] }, alice.headers),
			400,
			'UNKNOWN_SCOPE',
		)
		expect(unknown.message).toContain('mesages:send')
		expect(unknown.details).toMatchObject({ field: 'scopes', scope: 'mesages:send' })
	})

	it('refuses a key past the 100 an account may hold with 409 API_KEY_LIMIT_REACHED, bursts included, and takes one again once one is revoked', async () => {
		const owner = await createVerifiedUser(app)
		const create = () => api(app).post('/api-keys', { name: 'one of many', scopes: ['sessions:read'] }, owner.headers)
		const ids: string[] = []
		for (let i = 0; i < 95; i++) ids.push(((await (await create()).json()) as { id: string }).id)
		const burst = await Promise.all(Array.from({ length: 10 }, create))
		expect(burst.map((r) => r.status).sort()).toEqual([...Array(5).fill(201), ...Array(5).fill(409)])
		const refused = await expectError(await create(), 409, 'API_KEY_LIMIT_REACHED')
		expect(refused.message).toBe('An account may hold 100 API keys; revoke one first')
		expect((await del(`/api-keys/${ids[0]}`, owner.headers)).status).toBe(204)
		expect((await create()).status).toBe(201)
		await expectError(await create(), 409, 'API_KEY_LIMIT_REACHED')
	})

	it('answers 401 to a caller without credentials', async () => {
		await expectError(await api(app).get('/api-keys'), 401, 'UNAUTHORIZED')
	})
})

describe('calling the API with a key', () => {
	it('works as Authorization: Bearer and as X-Api-Key', async () => {
		const key = await createApiKey(app, alice, ['sessions:read'])
		expect((await api(app).get('/sessions', key.headers)).status).toBe(200)
		expect((await api(app).get('/sessions', { 'x-api-key': key.key })).status).toBe(200)
	})

	it('takes X-Api-Key over an Authorization header a proxy or tool added beside it', async () => {
		const key = await createApiKey(app, alice, ['sessions:read'])
		for (const authorization of [`Basic ${btoa('a:b')}`, 'Bearer not-a-token'])
			expect((await api(app).get('/sessions', { authorization, 'x-api-key': key.key })).status).toBe(200)
	})

	it('says how to send a key given in Authorization without the Bearer scheme, or with another', async () => {
		const key = await createApiKey(app, alice, ['sessions:read'])
		const bare = await expectError(await api(app).get('/sessions', { authorization: key.key }), 401, 'UNAUTHORIZED')
		expect(bare.message).toBe(
			'The Authorization header must read "Bearer <token>": the word Bearer, one space, then the API key (an API key may be sent as X-Api-Key: <key> instead)',
		)
		expect(bare.message).not.toContain(key.key)
		for (const authorization of [`Bearer  ${key.key}`, `Token ${key.key}`, `Basic ${btoa('a:b')}`])
			expect((await expectError(await api(app).get('/sessions', { authorization }), 401, 'UNAUTHORIZED')).message).toStartWith(
				'The Authorization header must read "Bearer <token>"',
			)
	})

	it('refuses an access token in X-Api-Key, and an unknown key', async () => {
		await expectError(await api(app).get('/sessions', { 'x-api-key': alice.accessToken }), 401, 'INVALID_API_KEY')
		await expectError(await api(app).get('/sessions', { authorization: `Bearer sbk_${'A'.repeat(43)}` }), 401, 'INVALID_API_KEY')
	})

	it('refuses a key on the routes that manage keys and the account, with a clear 403', async () => {
		const key = await createApiKey(app, alice, ['*'])
		const minted = await expectError(await api(app).post('/api-keys', { name: 'child', scopes: ['*'] }, key.headers), 403, 'USER_REQUIRED')
		expect(minted.message).toContain('API keys cannot')
		await expectError(await api(app).get('/api-keys', key.headers), 403, 'USER_REQUIRED')
		await expectError(await del(`/api-keys/${key.id}`, key.headers), 403, 'USER_REQUIRED')
		await expectError(await api(app).get('/users/me', key.headers), 403, 'USER_REQUIRED')
		await expectError(await api(app).post('/auth/logout-all', undefined, key.headers), 403, 'USER_REQUIRED')
	})

	it('refuses a route outside the key’s scopes, naming the missing scope', async () => {
		const key = await createApiKey(app, alice, ['sessions:read'])
		const refused = await expectError(await api(app).post('/sessions', { name: 'nope' }, key.headers), 403, 'INSUFFICIENT_SCOPE')
		expect(refused.message).toContain('sessions:write')
		expect(refused.details).toEqual({ required: 'sessions:write', granted: ['sessions:read'] })
	})

	it('sees its own tenant only', async () => {
		const bob = await createVerifiedUser(app)
		const bobSession = (await (await api(app).post('/sessions', { name: 'bob' }, bob.headers)).json()) as { id: string }
		const bobKey = await createApiKey(app, bob, ['*'])
		const aliceKey = await createApiKey(app, alice, ['*'])
		await api(app).post('/sessions', { name: 'alice' }, aliceKey.headers)

		const listed = (await (await api(app).get('/sessions', aliceKey.headers)).json()) as { items: { id: string; name: string }[] }
		expect(listed.items.length).toBeGreaterThan(0)
		expect(listed.items.map((s) => s.id)).not.toContain(bobSession.id)
		await expectError(await api(app).get(`/sessions/${bobSession.id}`, aliceKey.headers), 404, 'NOT_FOUND')
		await expectError(await del(`/api-keys/${bobKey.id}`, alice.headers), 404, 'NOT_FOUND')
		expect((await api(app).get(`/sessions/${bobSession.id}`, bobKey.headers)).status).toBe(200)
	})
})

describe('revoking a key', () => {
	it('answers 204, refuses the key from then on, drops it from the list, and 404 the second time', async () => {
		const key = await createApiKey(app, alice, ['sessions:read'])
		expect((await api(app).get('/sessions', key.headers)).status).toBe(200)
		expect((await del(`/api-keys/${key.id}`, alice.headers)).status).toBe(204)
		await expectError(await api(app).get('/sessions', key.headers), 401, 'INVALID_API_KEY')
		const { items } = (await (await api(app).get('/api-keys', alice.headers)).json()) as { items: { id: string }[] }
		expect(items.map((k) => k.id)).not.toContain(key.id)
		await expectError(await del(`/api-keys/${key.id}`, alice.headers), 404, 'NOT_FOUND')
		await expectError(await del('/api-keys/0190f0f0-0000-7000-8000-000000000000', alice.headers), 404, 'NOT_FOUND')
		await expectError(await del('/api-keys/not-a-uuid', alice.headers), 400, 'VALIDATION_FAILED')
	})
})

describe('the WebSocket with a key', () => {
	it('opens with the key in Authorization or X-Api-Key and sends the tenant’s snapshot', async () => {
		const key = await createApiKey(app, alice, ['sessions:read', 'messages:read'])
		for (const headers of [key.headers, { 'x-api-key': key.key }]) {
			const socket = openSocket(app.url, {}, headers)
			const snapshot = await socket.next((m) => m.type === 'session.snapshot')
			expect(snapshot.tenantId).toBe(alice.user.tenantId)
			socket.close()
		}
	})

	it('still opens with ?accessToken= for browsers', async () => {
		const socket = openSocket(app.url, { accessToken: alice.accessToken })
		expect((await socket.next()).type).toBe('session.snapshot')
		socket.close()
	})

	it('refuses a key in the URL with 4401 saying where keys go: URLs end up in logs', async () => {
		const key = await createApiKey(app, alice, ['messages:read'])
		expect(await openSocket(app.url, { accessToken: key.key }).closed).toEqual({
			code: 4401,
			reason: 'API keys go in a header (Authorization: Bearer or X-Api-Key), never in the URL',
		})
	})

	it('closes with 4403 for a key without sessions:read or messages:read, naming it, and 4401 for an unknown key', async () => {
		const key = await createApiKey(app, alice, ['sessions:read'])
		const refused = await openSocket(app.url, {}, key.headers).closed
		expect(refused.code).toBe(4403)
		expect(refused.reason).toContain('messages:read')
		// The snapshot and the session events carry what GET /sessions/:id/qr needs sessions:read for.
		const readsMessages = await createApiKey(app, alice, ['messages:read', 'messages:send'])
		const alsoRefused = await openSocket(app.url, {}, readsMessages.headers).closed
		expect(alsoRefused.code).toBe(4403)
		expect(alsoRefused.reason).toContain('sessions:read')
		expect((await openSocket(app.url, {}, { 'x-api-key': `sbk_${'B'.repeat(43)}` }).closed).code).toBe(4401)
	})

	it('closes an open socket with 4401 when its key is revoked', async () => {
		const key = await createApiKey(app, alice, ['sessions:read', 'messages:read'])
		const socket = openSocket(app.url, {}, key.headers)
		await socket.next((m) => m.type === 'session.snapshot')
		expect((await del(`/api-keys/${key.id}`, alice.headers)).status).toBe(204)
		expect(await socket.closed).toEqual({ code: 4401, reason: 'API key revoked' })
	})
})
