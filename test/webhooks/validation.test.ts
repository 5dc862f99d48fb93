import { afterAll, beforeAll, describe, expect, it } from 'bun:test'
import { createVerifiedUser, expectError } from '../helpers/accounts'
import { createApiKey } from '../helpers/api-keys'
import { startTestApp, type TestApp } from '../helpers/app'
import { clientFor, type Client } from '../helpers/sessions'
import { createSession, createWebhook } from './helpers'

let app: TestApp
let alice: Client
let bob: Client

beforeAll(async () => {
	app = await startTestApp({ ROLES: 'api', OUTBOX_RELAY_INTERVAL_MS: '50' })
	alice = clientFor(app, await createVerifiedUser(app))
	bob = clientFor(app, await createVerifiedUser(app))
})
afterAll(() => app.close())

const response = (res: { status: number; body: unknown }) => new Response(JSON.stringify(res.body), { status: res.status })
const patch = (api: Client, path: string, body: unknown) =>
	api.fetch(path, { method: 'PATCH', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) })

describe('webhook input', () => {
	it.each([['ftp://example.com/hook'], ['javascript:alert(1)'], ['not a url'], ['file:///etc/passwd']])(
		'refuses %s as url with 400 INVALID_URL',
		async (url) => {
			const error = await expectError(response(await alice.post('/webhooks', { url })), 400, 'INVALID_URL')
			expect(error.details).toMatchObject({ field: 'url' })
		},
	)

	it.each([
		['http://127.0.0.1/'],
		['http://10.0.0.1/'],
		['http://169.254.169.254/latest/meta-data'],
		['http://[::1]:8080/'],
		['http://[::ffff:127.0.0.1]/'],
		['https://100.64.0.1/'],
		['http://0.0.0.0/'],
		['http://[fd00::1]/'],
	])('refuses %s with 422 WEBHOOK_TARGET_REFUSED while private targets are not allowed', async (url) => {
		const error = await expectError(response(await alice.post('/webhooks', { url })), 422, 'WEBHOOK_TARGET_REFUSED')
		expect(error.details).toMatchObject({ field: 'url' })
		expect(error.message).toContain('WEBHOOK_ALLOW_PRIVATE_TARGETS=true')
		expect(error.message).toMatch(/points at (a [^aeiou]|an [aeiou])/)
	})

	it('refuses an unknown event type, and a glob that matches none, naming them', async () => {
		const error = await expectError(
			response(await alice.post('/webhooks', { url: 'https://example.com/h', events: ['session.messages.*', 'session.message.upsert', 'chat.*'] })),
			422,
			'UNKNOWN_EVENT_TYPE',
		)
		expect(error.details).toEqual({ field: 'events', unknown: ['session.message.upsert', 'chat.*'] })
	})

	it("answers 404 SESSION_NOT_FOUND for another account's session and for an unknown one", async () => {
		const bobs = await createSession(bob, 'bob')
		const unknown = Bun.randomUUIDv7()
		const error = await expectError(
			response(await alice.post('/webhooks', { url: 'https://example.com/h', sessionIds: [bobs, unknown] })),
			404,
			'SESSION_NOT_FOUND',
		)
		expect(error.details).toEqual({ field: 'sessionIds', unknown: [bobs, unknown] })
	})

	it('checks a PATCH like a POST', async () => {
		const hook = await createWebhook(alice, { url: 'https://example.com/h' })
		await expectError(await patch(alice, `/webhooks/${hook.id}`, { url: 'http://10.1.2.3/' }), 422, 'WEBHOOK_TARGET_REFUSED')
		await expectError(await patch(alice, `/webhooks/${hook.id}`, { events: ['nope'] }), 422, 'UNKNOWN_EVENT_TYPE')
		await expectError(await patch(alice, `/webhooks/${hook.id}`, {}), 400, 'VALIDATION_FAILED')
		const changed = await patch(alice, `/webhooks/${hook.id}`, { events: ['session.status.*'], enabled: false })
		expect(await changed.json()).toMatchObject({ events: ['session.status.*'], enabled: false, disabledReason: 'user' })
	})

	it('refuses a misspelt field with 400 UNKNOWN_FIELD naming it, and changes nothing', async () => {
		// `event` for `events`: taken as no filter, the endpoint would get every event.
		const error = await expectError(
			response(await alice.post('/webhooks', { url: 'https://example.com/typo', event: ['session.created'] })),
			400,
			'UNKNOWN_FIELD',
		)
		expect(error.details).toEqual({ fields: ['event'] })
		expect(error.message).toContain('`event` is not a field')
		expect(((await alice.get('/webhooks')).body.items as { url: string }[]).some((h) => h.url === 'https://example.com/typo')).toBe(false)
		const hook = await createWebhook(alice, { url: 'https://example.com/h' })
		await expectError(await patch(alice, `/webhooks/${hook.id}`, { description: 'paused', enabeld: false }), 400, 'UNKNOWN_FIELD')
		expect((await alice.get(`/webhooks/${hook.id}`)).body).toMatchObject({ enabled: true, description: null })
	})

	it('refuses malformed bodies with 400', async () => {
		await expectError(response(await alice.post('/webhooks', {})), 400, 'VALIDATION_FAILED')
		await expectError(response(await alice.post('/webhooks', { url: 'https://example.com/h', events: [] })), 400, 'VALIDATION_FAILED')
		await expectError(response(await alice.post('/webhooks', { url: 'https://example.com/h', sessionIds: ['x'] })), 400, 'VALIDATION_FAILED')
		await expectError(response(await alice.post('/webhooks', '{"url":')), 400, 'MALFORMED_BODY')
	})
})

describe('webhook endpoints', () => {
	it('shows the secret once, and never in GET', async () => {
		const hook = await createWebhook(alice, { url: 'https://example.com/once', description: 'CRM' })
		expect(hook.secret).toMatch(/^whsec_[A-Za-z0-9+/]{43}=$/)
		const got = await alice.get(`/webhooks/${hook.id}`)
		expect(got.body).toMatchObject({
			id: hook.id,
			url: 'https://example.com/once',
			events: ['*'],
			sessionIds: null,
			description: 'CRM',
			enabled: true,
		})
		expect(JSON.stringify(got.body)).not.toContain('whsec_')
		expect(JSON.stringify((await alice.get('/webhooks?limit=200')).body)).not.toContain('whsec_')
	})

	it("answers 404 for another account's webhook on every route", async () => {
		const hook = await createWebhook(alice, { url: 'https://example.com/mine' })
		const deliveryId = Bun.randomUUIDv7()
		for (const res of [
			await bob.get(`/webhooks/${hook.id}`),
			await bob.get(`/webhooks/${hook.id}/deliveries`),
			await bob.post(`/webhooks/${hook.id}/test`),
			await bob.post(`/webhooks/${hook.id}/rotate-secret`),
			await bob.post(`/webhooks/${hook.id}/replay`, { since: '0-0' }),
			await bob.post(`/webhooks/${hook.id}/deliveries/${deliveryId}/retry`),
			await bob.delete(`/webhooks/${hook.id}`),
		])
			await expectError(response(res), 404, 'WEBHOOK_NOT_FOUND')
		expect((await alice.get(`/webhooks/${hook.id}`)).status).toBe(200)
	})

	it('lists endpoints in pages and deletes them', async () => {
		const carol = clientFor(app, await createVerifiedUser(app))
		const ids = [] as string[]
		for (let i = 0; i < 3; i++) ids.push((await createWebhook(carol, { url: `https://example.com/${i}` })).id)
		const first = await carol.get('/webhooks?limit=2')
		expect(first.body.items.map((w: { id: string }) => w.id)).toEqual(ids.slice(0, 2))
		const second = await carol.get(`/webhooks?limit=2&cursor=${encodeURIComponent(first.body.nextCursor)}`)
		expect(second.body).toMatchObject({ items: [{ id: ids[2] }], nextCursor: null })
		expect((await carol.delete(`/webhooks/${ids[0]}`)).status).toBe(204)
		await expectError(response(await carol.get(`/webhooks/${ids[0]}`)), 404, 'WEBHOOK_NOT_FOUND')
	})

	it('needs a signed-in caller', async () => {
		expect((await fetch(`${app.url}/webhooks`)).status).toBe(401)
	})

	it('lets an API key with webhooks:manage (or *) manage webhooks, and refuses others with 403 naming the scope', async () => {
		const manager = await createApiKey(app, alice.user, ['webhooks:manage'])
		const everything = await createApiKey(app, alice.user, ['*'])
		const reader = await createApiKey(app, alice.user, ['sessions:read', 'messages:read', 'messages:send'])
		const asKey = (key: { headers: Record<string, string> }, init: RequestInit = {}, path = '/webhooks') =>
			fetch(app.url + path, { ...init, headers: { 'content-type': 'application/json', ...key.headers } })
		const created = await asKey(everything, { method: 'POST', body: JSON.stringify({ url: 'https://example.com/by-key' }) })
		expect(created.status).toBe(201)
		const { id } = (await created.json()) as { id: string }
		expect((await asKey(manager, {}, `/webhooks/${id}/deliveries`)).status).toBe(200)
		expect(
			(await asKey(manager, { method: 'PATCH', body: JSON.stringify({ enabled: false, description: 'paused' }) }, `/webhooks/${id}`)).status,
		).toBe(200)
		for (const [path, init] of [
			['/webhooks', {}],
			['/webhooks', { method: 'POST', body: JSON.stringify({ url: 'https://example.com/nope' }) }],
			[`/webhooks/${id}/test`, { method: 'POST' }],
		] as const) {
			const error = await expectError(await asKey(reader, init, path), 403, 'INSUFFICIENT_SCOPE')
			expect(error.details).toMatchObject({ required: 'webhooks:manage' })
		}
	})

	it('lets a key choose where events go only if it may read them: sessions:read and messages:read besides webhooks:manage', async () => {
		const asKey = (key: { headers: Record<string, string> }, method: string, path: string, body: unknown) =>
			fetch(app.url + path, { method, headers: { 'content-type': 'application/json', ...key.headers }, body: JSON.stringify(body) })
		const manager = await createApiKey(app, alice.user, ['webhooks:manage'])
		const managerOfSessions = await createApiKey(app, alice.user, ['webhooks:manage', 'sessions:read'])
		const reader = await createApiKey(app, alice.user, ['webhooks:manage', 'sessions:read', 'messages:read'])
		const created = await asKey(reader, 'POST', '/webhooks', { url: 'https://example.com/reader' })
		expect(created.status).toBe(201)
		const { id } = (await created.json()) as { id: string }
		for (const [key, lacks] of [
			[manager, 'sessions:read'],
			[managerOfSessions, 'messages:read'],
		] as const) {
			for (const [method, path, body] of [
				['POST', '/webhooks', { url: 'https://attacker.example/all' }],
				['PATCH', `/webhooks/${id}`, { url: 'https://attacker.example/all' }],
				['PATCH', `/webhooks/${id}`, { events: ['session.messages.*'] }],
				['PATCH', `/webhooks/${id}`, { sessionIds: null }],
			] as const) {
				const error = await expectError(await asKey(key, method, path, body), 403, 'INSUFFICIENT_SCOPE')
				expect(error.details).toMatchObject({ required: lacks })
				expect(error.message).toContain('a webhook carries what it reads')
			}
		}
		// Nothing was changed by the refused calls.
		expect((await alice.get(`/webhooks/${id}`)).body).toMatchObject({ url: 'https://example.com/reader', events: ['*'], sessionIds: null })
		expect((await asKey(reader, 'PATCH', `/webhooks/${id}`, { url: 'https://example.com/moved' })).status).toBe(200)
	})

	it('refuses a replay from something that is neither a position nor a time', async () => {
		const hook = await createWebhook(alice, { url: 'https://example.com/replay' })
		for (const since of [
			'yesterday',
			'1',
			'2026-13-45',
			// A day the month does not have (Date.parse rolls it over), and a time without its zone.
			'2026-02-30',
			'2026-01-01T09:00',
			'12/01/2026',
			'1969-12-31',
			'0000-01-01',
			'99999999999999999999-0',
			'1-99999999999999999999',
		])
			await expectError(response(await alice.post(`/webhooks/${hook.id}/replay`, { since })), 400, 'INVALID_SINCE')
	})
})
