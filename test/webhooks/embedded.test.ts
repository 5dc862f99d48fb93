import { afterAll, beforeAll, describe, expect, it } from 'bun:test'
import { rmSync } from 'node:fs'
import { createLogger } from '../../src/logger'
import { type RunningServer, startServer } from '../../src/server'
import { embeddedConfig, embeddedDataDir, type EmbeddedServer, startEmbeddedServer } from '../helpers/embedded'
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

const PASSWORD = 'correct horse battery staple'

/** A signed-in owner of a new account, through the API (the address marked verified in PGlite). */
async function owner(server: RunningServer = embedded.server): Promise<Client> {
	const email = `embedded-${Date.now()}@example.test`
	const json = { 'content-type': 'application/json' }
	const url = `http://127.0.0.1:${server.port}`
	const user: any = await (await fetch(`${url}/users`, { method: 'POST', headers: json, body: JSON.stringify({ email, password: PASSWORD }) })).json()
	await server.database.db.execute(sql`update users set verified_at = now() where id = ${user.id}`)
	return signIn(server, user, email)
}

async function signIn(server: RunningServer, user: any, email: string): Promise<Client> {
	const url = `http://127.0.0.1:${server.port}`
	const password = PASSWORD
	const json = { 'content-type': 'application/json' }
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

	it('replay across a restart, saying events from before it may be missing: the in-process stream left with the last process', async () => {
		const dataDir = await embeddedDataDir('restart')
		const config = embeddedConfig(dataDir, { WEBHOOK_ALLOW_PRIVATE_TARGETS: 'true', WEBHOOK_POLL_MS: '50' })
		let server = await startServer(config, createLogger(config))
		try {
			const api = await owner(server)
			const hook = await createWebhook(api, { url: rx.url, events: ['session.created'] })
			const before = await api.post('/sessions', { name: 'before the restart' })
			await rx.until((rs) => rs.some((r) => r.json.sessionId === before.body.id), 'the first session.created')
			await server.stop()
			server = await startServer(config, createLogger(config))
			const restarted = Date.now()
			const again = await signIn(server, api.user.user, api.user.email)
			const after = await again.post('/sessions', { name: 'after the restart' })
			await rx.until((rs) => rs.some((r) => r.json.sessionId === after.body.id), 'the second session.created')
			await until(async () => (await again.get(`/webhooks/${hook.id}/deliveries?state=delivered`)).body.items?.length === 2, 'both recorded')
			// The first event is gone from the stream: only the second is queued, and the answer says so.
			const fromStart = await again.post(`/webhooks/${hook.id}/replay`, { since: '2000-01-01' })
			expect(fromStart).toMatchObject({ status: 202, body: { queued: 1, truncated: true } })
			await until(async () => (await again.get(`/webhooks/${hook.id}/deliveries?state=pending`)).body.items?.length === 0, 'the replay sent')
			// From the restart on the stream holds everything.
			const fromRestart = await again.post(`/webhooks/${hook.id}/replay`, { since: new Date(restarted).toISOString() })
			expect(fromRestart).toMatchObject({ status: 202, body: { queued: 1, truncated: false } })
		} finally {
			await server.stop()
			rmSync(dataDir, { recursive: true, force: true })
		}
	}, 60_000)
})
