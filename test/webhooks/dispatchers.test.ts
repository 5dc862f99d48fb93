import { afterAll, beforeAll, describe, expect, it } from 'bun:test'
import { domainEvent, type DomainEvent } from '../../src/core/catalogue'
import { createVerifiedUser } from '../helpers/accounts'
import { startTestApp, type TestApp } from '../helpers/app'
import { clientFor, type Client } from '../helpers/sessions'
import { createWebhook, startReceiver, type Receiver, spawnDispatcher } from './helpers'

let app: TestApp
let api: Client
let rx: Receiver

beforeAll(async () => {
	app = await startTestApp({ ROLES: 'api', WEBHOOK_ALLOW_PRIVATE_TARGETS: 'true' })
	api = clientFor(app, await createVerifiedUser(app))
	// Slow enough that both dispatchers are busy at once.
	rx = await startReceiver(async () => {
		await Bun.sleep(2)
		return new Response(null, { status: 204 })
	})
})
afterAll(async () => {
	await rx.stop()
	await app.close()
})

const dispatcher = () => spawnDispatcher(app, { WEBHOOK_CONCURRENCY: '4', WEBHOOK_POLL_MS: '20' })

describe('several webhook dispatchers', () => {
	it('share the work without ever sending one session’s events side by side: each event once, in per-session order', async () => {
		await createWebhook(api, { url: rx.url, events: ['session.qr.updated'] })
		const sessions = Array.from({ length: 6 }, () => Bun.randomUUIDv7())
		const events: DomainEvent[] = []
		for (let i = 0; i < 60; i++)
			for (const sessionId of sessions)
				events.push(domainEvent('session.qr.updated', { tenantId: api.user.user.tenantId, sessionId }, { qr: `qr-${i}` }))

		const dispatchers = await Promise.all([dispatcher(), dispatcher()])
		try {
			for (let i = 0; i < events.length; i += 40) await app.server.bus.publish(events.slice(i, i + 40))
			await rx.until((rs) => rs.length >= events.length, 'every event delivered', 45_000)
		} finally {
			for (const d of dispatchers) d.proc.kill()
			await Promise.all(dispatchers.map((d) => d.proc.exited))
		}
		// Nobody crashed, so nothing may arrive twice: two dispatchers holding one lane would send it twice.
		expect(rx.requests.map((r) => r.webhookId).sort()).toEqual(events.map((e) => e.id).sort())
		for (const sessionId of sessions) {
			const sent = events.filter((e) => e.sessionId === sessionId).map((e) => e.id)
			expect(rx.requests.filter((r) => r.json.sessionId === sessionId).map((r) => r.webhookId)).toEqual(sent)
		}
	}, 90_000)
})
