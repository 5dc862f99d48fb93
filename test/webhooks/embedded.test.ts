import { afterAll, beforeAll, describe, expect, it } from 'bun:test'
import { type EmbeddedServer, startEmbeddedServer } from '../helpers/embedded'
import { sql } from 'drizzle-orm'
import { createWebhook, startReceiver, verify, type Receiver } from './helpers'
import { type Client, clientFor } from '../helpers/sessions'
import type { TestApp } from '../helpers/app'
import { until } from '../helpers/until'

// Embedded mode: PGlite and the in-process bus, ROLES unset.
let embedded: EmbeddedServer
let rx: Receiver

beforeAll(async () => {
	embedded = await startEmbeddedServer('webhooks', { WEBHOOK_ALLOW_PRIVATE_TARGETS: 'true', WEBHOOK_POLL_MS: '50' })
	rx = await startReceiver()
}, 60_000)
afterAll(async () => {
	await rx?.stop()
	await embedded?.close()
})

/** A signed-in owner of a new account, through the API (the address marked verified in PGlite). */
async function owner(): Promise<Client> {
	const url = embedded.url
	const email = `embedded-${Date.now()}@example.test`
	const password = 'correct horse battery staple'
	const json = { 'content-type': 'application/json' }
	const user: any = await (await fetch(`${url}/users`, { method: 'POST', headers: json, body: JSON.stringify({ email, password }) })).json()
	await embedded.server.database.db.execute(sql`update users set verified_at = now() where id = ${user.id}`)
	const login = await fetch(`${url}/auth/login`, { method: 'POST', headers: json, body: JSON.stringify({ email, password }) })
	const { accessToken } = (await login.json()) as { accessToken: string }
	return clientFor({ url } as TestApp, {
		user,
		email,
		password,
		accessToken,
		cookie: '',
		headers: { authorization: `Bearer ${accessToken}` },
	})
}

describe('webhooks in embedded mode', () => {
	it('run by default, inline, and deliver a session event created through the API', async () => {
		expect(embedded.server.roles.started).toContainEqual({ role: 'webhooks', mode: 'inline' })
		const api = await owner()
		const hook = await createWebhook(api, { url: rx.url, events: ['session.created'] })
		const session = await api.post('/sessions', { name: 'embedded' })
		expect(session.status).toBe(201)
		await rx.until((rs) => rs.length === 1, 'the session.created event')
		expect(rx.requests[0]!.json).toMatchObject({ type: 'session.created', sessionId: session.body.id, data: { name: 'embedded' } })
		verify(hook.secret, rx.requests[0]!)
	}, 30_000)

	it('sign with every secret rotated out in the last 24 h', async () => {
		const api = await owner()
		const hook = await createWebhook(api, { url: rx.url, events: ['session.qr.updated'] })
		const rotated = [
			(await api.post(`/webhooks/${hook.id}/rotate-secret`)).body.secret,
			(await api.post(`/webhooks/${hook.id}/rotate-secret`)).body.secret,
		]
		const test = await api.post(`/webhooks/${hook.id}/test`)
		await rx.until((rs) => rs.some((r) => r.webhookId === test.body.eventId), 'the test event')
		const request = rx.requests.find((r) => r.webhookId === test.body.eventId)!
		expect(request.signature.split(' ')).toHaveLength(3)
		for (const secret of [hook.secret, ...rotated]) verify(secret, request)
	}, 30_000)

	it('replay from before the first event of the in-process stream, which lost none, and say it is not truncated', async () => {
		const api = await owner()
		const hook = await createWebhook(api, { url: rx.url, events: ['session.created'] })
		const session = await api.post('/sessions', { name: 'replayed' })
		expect(session.status).toBe(201)
		// The event is in the stream once it was delivered from there.
		await rx.until((rs) => rs.some((r) => r.json.sessionId === session.body.id), 'the session.created event')
		// Recorded as delivered: a delivery still pending is not queued again, nor counted.
		await until(async () => (await api.get(`/webhooks/${hook.id}/deliveries?state=delivered`)).body.items?.length === 1, 'the delivery recorded')
		const replay = await api.post(`/webhooks/${hook.id}/replay`, { since: '2000-01-01' })
		expect(replay).toMatchObject({ status: 202, body: { queued: 1, truncated: false } })
	}, 30_000)
})
