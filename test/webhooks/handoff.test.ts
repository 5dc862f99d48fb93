import { afterAll, beforeAll, describe, expect, it } from 'bun:test'
import { domainEvent, type DomainEvent } from '../../src/core/catalogue'
import { createVerifiedUser } from '../helpers/accounts'
import { startTestApp, type TestApp } from '../helpers/app'
import { clientFor, type Client } from '../helpers/sessions'
import { until } from '../helpers/until'
import { createWebhook, type Received, startReceiver, type Receiver } from './helpers'

let app: TestApp
let api: Client
const receivers: Receiver[] = []

beforeAll(async () => {
	app = await startTestApp({
		ROLES: 'api,webhooks',
		WEBHOOK_ALLOW_PRIVATE_TARGETS: 'true',
		WEBHOOK_RETRY_SCHEDULE: '20ms,40ms,60ms,80ms,100ms,100ms,100ms,100ms',
		WEBHOOK_POLL_MS: '50',
		METRICS_ENABLED: 'true',
	})
	await app.server.roles.ready
	api = clientFor(app, await createVerifiedUser(app))
})
afterAll(async () => {
	for (const r of receivers) await r.stop()
	await app?.close()
})

async function receiver(...args: Parameters<typeof startReceiver>) {
	const r = await startReceiver(...args)
	receivers.push(r)
	return r
}

/** `count` events for each session, interleaved as sessions of one runner would append them, in one append. */
async function publish(sessions: readonly string[], count: number): Promise<DomainEvent[]> {
	const events = Array.from({ length: count }, (_, i) =>
		sessions.map((sessionId) => domainEvent('session.qr.updated', { tenantId: api.user.user.tenantId, sessionId }, { qr: `qr-${i}` })),
	).flat() as DomainEvent[]
	await app.server.bus.publish(events)
	return events
}

/** The dispatcher's `webhook_deliveries_taken_total`, by source. */
async function taken(): Promise<{ stream: number; claim: number }> {
	const text = await (await fetch(`${app.url}/metrics`)).text()
	const value = (source: string) =>
		Number(text.match(new RegExp(`switchboard_webhook_deliveries_taken_total\\{source="${source}"[^}]*\\} (\\d+)`))?.[1])
	return { stream: value('stream'), claim: value('claim') }
}

/** Each session's webhook-ids in the order the receiver first accepted them. */
function acceptedOrder(requests: readonly Received[], sessionId: string): string[] {
	const seen = new Set<string>()
	for (const r of requests) if (r.status >= 200 && r.status < 300 && r.json.sessionId === sessionId) seen.add(r.webhookId)
	return [...seen]
}

describe('deliveries handed over from the stream', () => {
	it('go out without a claim when nothing else of their lanes waits', async () => {
		const rx = await receiver()
		await createWebhook(api, { url: rx.url, events: ['session.qr.updated'] })
		const before = await taken()
		const sessions = Array.from({ length: 4 }, () => Bun.randomUUIDv7())
		const events = await publish(sessions, 10)
		await rx.until((rs) => rs.length === events.length, 'every event')
		await until(async () => (await taken()).stream - before.stream === events.length, 'every delivery counted')

		expect((await taken()).claim).toBe(before.claim)
		for (const s of sessions) expect(acceptedOrder(rx.requests, s)).toEqual(events.filter((e) => e.sessionId === s).map((e) => e.id))
		expect(rx.requests.every((r) => r.status === 204)).toBe(true)
	})

	it('keep a session in order when its lane fails while later events keep coming: those wait for claims behind the failure', async () => {
		const sessions = Array.from({ length: 3 }, () => Bun.randomUUIDv7())
		const stuck = sessions[0]!
		let refusals = 0
		// The stuck session's fourth event is refused three times; everything else is accepted.
		let fourth = ''
		const rx = await receiver((r) =>
			r.webhookId === fourth && refusals++ < 3 ? new Response(null, { status: 500 }) : new Response(null, { status: 204 }),
		)
		await createWebhook(api, { url: rx.url, events: ['session.qr.updated'] })
		const before = await taken()
		const sent: DomainEvent[] = []
		for (let burst = 0; burst < 5; burst++) {
			const events = await publish(sessions, 4)
			if (burst === 0) fourth = events.filter((e) => e.sessionId === stuck)[3]!.id
			sent.push(...events)
			await rx.until((rs) => rs.length >= (burst + 1) * 4, `burst ${burst} under way`)
		}
		await rx.until((rs) => new Set(rs.filter((r) => r.status === 204).map((r) => r.webhookId)).size === sent.length, 'every event accepted', 30_000)

		expect(refusals).toBeGreaterThanOrEqual(3)
		for (const s of sessions) expect(acceptedOrder(rx.requests, s)).toEqual(sent.filter((e) => e.sessionId === s).map((e) => e.id))
		// Each accepted once: a failure holds its lane, it does not make anything go twice.
		expect(rx.requests.filter((r) => r.status === 204)).toHaveLength(sent.length)
		const after = await taken()
		expect(after.stream).toBeGreaterThan(before.stream)
		expect(after.claim).toBeGreaterThan(before.claim)
	}, 60_000)
})
