import { afterAll, beforeAll, describe, expect, it } from 'bun:test'
import { domainEvent, type DomainEvent } from '../../src/core/catalogue'
import { createVerifiedUser } from '../helpers/accounts'
import { startTestApp, type TestApp } from '../helpers/app'
import { clientFor, type Client } from '../helpers/sessions'
import { createWebhook, startReceiver, type Receiver } from './helpers'

let app: TestApp
let api: Client
let rx: Receiver

// Two requests in flight at most: one slot for lanes handed over from the stream, one kept for claims.
beforeAll(async () => {
	app = await startTestApp({
		ROLES: 'api,webhooks',
		WEBHOOK_ALLOW_PRIVATE_TARGETS: 'true',
		WEBHOOK_CONCURRENCY: '2',
		WEBHOOK_RETRY_SCHEDULE: '20ms,20ms,20ms',
		WEBHOOK_POLL_MS: '50',
	})
	await app.server.roles.ready
	api = clientFor(app, await createVerifiedUser(app))
})
afterAll(async () => {
	await rx?.stop()
	await app.close()
})

const event = (sessionId: string, qr: string) =>
	domainEvent('session.qr.updated', { tenantId: api.user.user.tenantId, sessionId }, { qr }) as DomainEvent

describe('a busy stream', () => {
	it('does not keep a retry from its turn: a failed delivery goes again while other sessions keep the stream busy', async () => {
		const [busyA, busyB, retried] = [Bun.randomUUIDv7(), Bun.randomUUIDv7(), Bun.randomUUIDv7()]
		const failing = event(retried, 'fails once')
		let refused = false
		// A slow receiver, so that the busy sessions' queues never run dry while they are fed.
		rx = await startReceiver(async (r) => {
			if (r.webhookId === failing.id && !refused) {
				refused = true
				return new Response(null, { status: 500 })
			}
			await Bun.sleep(20)
			return new Response(null, { status: 204 })
		})
		await createWebhook(api, { url: rx.url, events: ['session.qr.updated'] })

		await app.server.bus.publish([failing])
		let feeding = true
		let fed = 0
		const feeder = (async () => {
			for (let i = 0; feeding; i++) {
				await app.server.bus.publish([event(busyA, `a-${i}`), event(busyB, `b-${i}`)])
				fed += 2
				await Bun.sleep(10)
			}
		})()
		let backlog = 0
		try {
			await rx.until((rs) => rs.some((r) => r.webhookId === failing.id && r.status === 204), 'the retry accepted', 15_000)
			backlog = fed - rx.requests.filter((r) => r.json.sessionId !== retried).length
		} finally {
			feeding = false
			await feeder
		}
		expect(refused).toBe(true)
		// The busy sessions still had events waiting when the retry went through: it did not wait for them.
		expect(backlog).toBeGreaterThan(0)
	}, 30_000)
})
