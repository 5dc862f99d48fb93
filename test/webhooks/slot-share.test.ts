import { afterAll, beforeAll, describe, expect, it } from 'bun:test'
import { domainEvent, type DomainEvent } from '../../src/core/catalogue'
import { createVerifiedUser } from '../helpers/accounts'
import { startTestApp, type TestApp } from '../helpers/app'
import { clientFor, type Client } from '../helpers/sessions'
import { createWebhook, startReceiver, type Receiver } from './helpers'

/**
 * An account whose receiver answers, but slowly, and that has many sessions' events queued must
 * not keep every sending slot until its queue is empty while another account's deliveries wait.
 */

const CONCURRENCY = 8
/** How long the slow receiver takes to answer each request. */
const SLOW_MS = 400
const SLOW_SESSIONS = 16
const EVENTS_PER_SESSION = 16
const OTHER_SESSIONS = 12
let app: TestApp
let owner: Client
let other: Client
let slow: Receiver
let fast: Receiver
/** Requests the slow receiver has had so far (answered or not). */
let slowArrivals = 0

beforeAll(async () => {
	app = await startTestApp({
		ROLES: 'api,webhooks',
		WEBHOOK_ALLOW_PRIVATE_TARGETS: 'true',
		WEBHOOK_CONCURRENCY: String(CONCURRENCY),
		WEBHOOK_POLL_MS: '50',
		METRICS_ENABLED: 'true',
	})
	await app.server.roles.ready
	owner = clientFor(app, await createVerifiedUser(app))
	other = clientFor(app, await createVerifiedUser(app))
	slow = await startReceiver(async () => {
		slowArrivals++
		await Bun.sleep(SLOW_MS)
		return new Response(null, { status: 204 })
	})
	fast = await startReceiver()
})
afterAll(async () => {
	await slow?.stop()
	await fast?.stop()
	await app.close()
})

const qr = (client: Client, sessionId: string, text: string) =>
	domainEvent('session.qr.updated', { tenantId: client.user.user.tenantId, sessionId }, { qr: text }) as DomainEvent

describe('slots shared between endpoints', () => {
	it('gives an endpoint that waits a turn while a slow one has a long queue, and keeps each session in order', async () => {
		await createWebhook(owner, { url: slow.url, events: ['session.qr.updated'] })
		await createWebhook(other, { url: fast.url, events: ['session.qr.updated'] })
		const slowSessions = Array.from({ length: SLOW_SESSIONS }, () => Bun.randomUUIDv7())
		// Session by session, so that each session's events are in stream order behind one another.
		await app.server.bus.publish(
			Array.from({ length: EVENTS_PER_SESSION }, (_, n) => slowSessions.map((s, i) => qr(owner, s, `slow-${i}-${n}`))).flat(),
		)
		const slowTotal = SLOW_SESSIONS * EVENTS_PER_SESSION
		// Every slot is taken by the slow endpoint's lanes by now.
		await slow.until(() => slowArrivals >= CONCURRENCY, 'the slow receiver’s first wave', 15_000)
		await app.server.bus.publish(Array.from({ length: OTHER_SESSIONS }, (_, i) => qr(other, Bun.randomUUIDv7(), `other-${i}`)))
		await fast.until((rs) => rs.length === OTHER_SESSIONS, 'the other account’s events delivered', 15_000)
		// The slow endpoint's queue keeps every slot SLOW_MS × slowTotal / CONCURRENCY (13 s) to empty, and each
		// of its lanes runs SLOW_MS × EVENTS_PER_SESSION (6.4 s): claimed in turns alone, the other account's
		// events waited for a lane's whole run (half the queue); in stream order, for all of it. Its lanes
		// gave their slots up after a turn instead.
		expect(slowArrivals).toBeLessThan(slowTotal / 4)
		const metrics = await (await fetch(`${app.url}/metrics`)).text()
		expect(Number(metrics.match(/^switchboard_webhook_slots_given_up_total (\d+)/m)?.[1])).toBeGreaterThan(0)
		// Nothing of the slow endpoint was lost or reordered by giving slots up.
		await slow.until((rs) => rs.length === slowTotal, 'every slow delivery', 30_000)
		for (const [i] of slowSessions.entries()) {
			const texts = slow.requests.map((r) => (r.json.data as { qr: string }).qr).filter((t) => t.startsWith(`slow-${i}-`))
			expect(texts).toEqual(Array.from({ length: EVENTS_PER_SESSION }, (_, n) => `slow-${i}-${n}`))
		}
	}, 60_000)
})
