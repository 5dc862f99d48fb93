import { afterAll, beforeAll, describe, expect, it } from 'bun:test'
import { domainEvent, type DomainEvent } from '../../src/core/catalogue'
import { createVerifiedUser } from '../helpers/accounts'
import { startTestApp, type TestApp } from '../helpers/app'
import { clientFor, type Client } from '../helpers/sessions'
import { createWebhook, type Receiver, type Respond, startReceiver } from './helpers'

/**
 * An account whose receiver answers, but slowly, and that has many sessions' events queued must
 * not keep every sending slot until its queue is empty while another account's deliveries wait.
 */

const CONCURRENCY = 8
/** How long the slow receiver takes to answer each request. */
const SLOW_MS = 400
const SLOW_SESSIONS = 16
const EVENTS_PER_SESSION = 16
const SLOW_TOTAL = SLOW_SESSIONS * EVENTS_PER_SESSION
const OTHER_SESSIONS = 12
let app: TestApp
const receivers: Receiver[] = []

beforeAll(async () => {
	app = await startTestApp({
		ROLES: 'api,webhooks',
		WEBHOOK_ALLOW_PRIVATE_TARGETS: 'true',
		WEBHOOK_CONCURRENCY: String(CONCURRENCY),
		WEBHOOK_POLL_MS: '50',
		WEBHOOK_RETRY_SCHEDULE: '300ms',
		METRICS_ENABLED: 'true',
	})
	await app.server.roles.ready
})
afterAll(async () => {
	for (const r of receivers) await r.stop()
	await app.close()
})

const qr = (client: Client, sessionId: string, text: string) =>
	domainEvent('session.qr.updated', { tenantId: client.user.user.tenantId, sessionId }, { qr: text }) as DomainEvent

/** A new account with a webhook to a receiver answering as `respond` does. */
async function account(respond?: Respond) {
	const client = clientFor(app, await createVerifiedUser(app))
	const receiver = await startReceiver(respond)
	receivers.push(receiver)
	await createWebhook(client, { url: receiver.url, events: ['session.qr.updated'] })
	return { client, receiver }
}

/**
 * An account whose receiver answers in SLOW_MS, with EVENTS_PER_SESSION events of SLOW_SESSIONS
 * sessions queued; resolves once its lanes have every slot. Its queue keeps every slot SLOW_MS ×
 * SLOW_TOTAL / CONCURRENCY (13 s) to empty, and each of its lanes runs SLOW_MS × EVENTS_PER_SESSION
 * (6.4 s) when nothing ends it.
 */
async function slowQueue() {
	let arrivals = 0
	const { client, receiver } = await account(async () => {
		arrivals++
		await Bun.sleep(SLOW_MS)
		return new Response(null, { status: 204 })
	})
	const sessions = Array.from({ length: SLOW_SESSIONS }, () => Bun.randomUUIDv7())
	// Session by session, so that each session's events are in stream order behind one another.
	await app.server.bus.publish(Array.from({ length: EVENTS_PER_SESSION }, (_, n) => sessions.map((s, i) => qr(client, s, `slow-${i}-${n}`))).flat())
	await receiver.until(() => arrivals >= CONCURRENCY, 'the slow receiver’s first wave', 15_000)
	return {
		/** Requests the slow receiver has had so far, answered or not. */
		arrivals: () => arrivals,
		/** Every delivery of the slow account arrives, each session's in order. */
		async allInOrder() {
			await receiver.until((rs) => rs.length === SLOW_TOTAL, 'every slow delivery', 30_000)
			for (const [i] of sessions.entries()) {
				const texts = receiver.requests.map((r) => (r.json.data as { qr: string }).qr).filter((t) => t.startsWith(`slow-${i}-`))
				expect(texts).toEqual(Array.from({ length: EVENTS_PER_SESSION }, (_, n) => `slow-${i}-${n}`))
			}
		},
	}
}

describe('slots shared between endpoints', () => {
	it('gives an endpoint that waits a turn while a slow one has a long queue, and keeps each session in order', async () => {
		const slow = await slowQueue()
		const other = await account()
		await app.server.bus.publish(Array.from({ length: OTHER_SESSIONS }, (_, i) => qr(other.client, Bun.randomUUIDv7(), `other-${i}`)))
		await other.receiver.until((rs) => rs.length === OTHER_SESSIONS, 'the other account’s events delivered', 15_000)
		// Claimed in turns alone, the other account's events waited for a slow lane's whole run (half the
		// queue); in stream order, for all of it. The slow lanes gave their slots up after a turn instead.
		expect(slow.arrivals()).toBeLessThan(SLOW_TOTAL / 4)
		const metrics = await (await fetch(`${app.url}/metrics`)).text()
		expect(Number(metrics.match(/^switchboard_webhook_slots_given_up_total (\d+)/m)?.[1])).toBeGreaterThan(0)
		// Nothing of the slow endpoint was lost or reordered by giving slots up.
		await slow.allInOrder()
	}, 60_000)

	it('gives a retry its turn too, found while the slow endpoint keeps every slot busy', async () => {
		const slow = await slowQueue()
		// The other account's one event fails once: its retry is due 300 ms later, in the database only.
		const other = await account((_, n) => new Response(null, { status: n === 0 ? 500 : 204 }))
		await app.server.bus.publish([qr(other.client, Bun.randomUUIDv7(), 'retried')])
		await other.receiver.until((rs) => rs.some((r) => r.status === 204), 'the retry accepted', 15_000)
		// Only a dispatcher that looks for waiting endpoints while its slots are busy finds the retry before
		// a slow lane's run ends on its own.
		expect(slow.arrivals()).toBeLessThan(SLOW_TOTAL / 4)
		await slow.allInOrder()
	}, 60_000)
})
