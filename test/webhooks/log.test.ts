import { afterAll, beforeAll, describe, expect, it } from 'bun:test'
import { domainEvent, type DomainEvent } from '../../src/core/catalogue'
import { createVerifiedUser } from '../helpers/accounts'
import { startTestApp, type TestApp } from '../helpers/app'
import { clientFor, type Client } from '../helpers/sessions'
import { until } from '../helpers/until'
import { createWebhook, startReceiver, type Receiver } from './helpers'

let app: TestApp
let api: Client
const receivers: Receiver[] = []

beforeAll(async () => {
	app = await startTestApp({
		ROLES: 'api,webhooks',
		WEBHOOK_ALLOW_PRIVATE_TARGETS: 'true',
		WEBHOOK_RETRY_SCHEDULE: '10ms,10ms',
		WEBHOOK_POLL_MS: '50',
		METRICS_ENABLED: 'true',
	})
	await app.server.roles.ready
	api = clientFor(app, await createVerifiedUser(app))
})
afterAll(async () => {
	for (const r of receivers) await r.stop()
	await app.close()
})

async function receiver(...args: Parameters<typeof startReceiver>) {
	const r = await startReceiver(...args)
	receivers.push(r)
	return r
}

function publish(count: number, sessionId = Bun.randomUUIDv7()) {
	const events = Array.from({ length: count }, (_, i) =>
		domainEvent('session.qr.updated', { tenantId: api.user.user.tenantId, sessionId }, { qr: `qr-${i}` }),
	) as DomainEvent[]
	return app.server.bus.publish(events).then((positions) => ({ events, positions }))
}

const deliveriesOf = async (id: string, query = '') => (await api.get(`/webhooks/${id}/deliveries${query}`)).body

/**
 * A webhook whose receiver answers 503 with Retry-After: 600, and `count` events of one session
 * sent to it: the log, newest first, once the first delivery's attempt is recorded (it waits ten minutes).
 */
async function firstAttemptDeferred(count: number) {
	const rx = await receiver(() => new Response(null, { status: 503, headers: { 'retry-after': '600' } }))
	const hook = await createWebhook(api, { url: rx.url })
	await publish(count)
	const log = await until(async () => {
		const { items } = await deliveriesOf(hook.id)
		return items.length === count && items.at(-1).attempts === 1 && items
	}, 'the first attempt recorded')
	return { hook, log }
}

describe('the delivery log', () => {
	it('shows the deliveries behind a retry due no earlier than it, and none due while the endpoint is paused', async () => {
		const { hook, log } = await firstAttemptDeferred(3)
		const retryAt = Date.parse(log.find((d: { attempts: number }) => d.attempts === 1).nextAttemptAt)
		expect(retryAt).toBeGreaterThan(Date.now() + 500_000)
		expect(log.map((d: { state: string; nextAttemptAt: string }) => [d.state, Date.parse(d.nextAttemptAt)])).toEqual([
			['pending', retryAt],
			['pending', retryAt],
			['pending', retryAt],
		])
		await api.fetch(`/webhooks/${hook.id}`, { method: 'PATCH', headers: { 'content-type': 'application/json' }, body: '{"enabled":false}' })
		expect((await deliveriesOf(hook.id)).items.map((d: { nextAttemptAt: string | null }) => d.nextAttemptAt)).toEqual([null, null, null])
		// Sending one again now is not what a paused endpoint does: refused, as its test event is.
		const retried = await api.post(`/webhooks/${hook.id}/deliveries/${log[0].id}/retry`, {})
		expect({ status: retried.status, code: retried.body.error?.code }).toEqual({ status: 409, code: 'WEBHOOK_DISABLED' })
	})

	it('pages through deliveries newest first, with their attempts and outcome', async () => {
		const rx = await receiver()
		const hook = await createWebhook(api, { url: rx.url })
		const { events, positions } = await publish(5)
		await rx.until((rs) => rs.length === 5, 'five deliveries')
		await until(async () => (await deliveriesOf(hook.id, '?state=delivered')).items.length === 5, 'five recorded')
		const first = await deliveriesOf(hook.id, '?limit=3')
		const second = await deliveriesOf(hook.id, `?limit=3&cursor=${encodeURIComponent(first.nextCursor)}`)
		expect(second.nextCursor).toBeNull()
		const items = [...first.items, ...second.items]
		expect(items.map((d: { eventId: string }) => d.eventId)).toEqual(events.map((e) => e.id).reverse())
		expect(items.map((d: { position: string }) => d.position)).toEqual(positions.map((p) => p.id).reverse())
		expect(items[0]).toMatchObject({
			eventType: 'session.qr.updated',
			state: 'delivered',
			attempts: 1,
			lastStatusCode: 204,
			lastError: null,
			nextAttemptAt: null,
		})
		expect(items[0].lastLatencyMs).toBeGreaterThanOrEqual(0)
		expect(await api.get(`/webhooks/${hook.id}/deliveries?cursor=${encodeURIComponent(first.nextCursor)}&state=failed`)).toMatchObject({
			status: 400,
		})
	})

	it('gives up after the retry schedule, and sends a failed delivery again on retry', async () => {
		const rx = await receiver(() => new Response('down for maintenance', { status: 500 }))
		const hook = await createWebhook(api, { url: rx.url })
		await publish(1)
		const failed = await until(async () => (await deliveriesOf(hook.id, '?state=failed')).items[0], 'the delivery to fail')
		expect(failed).toMatchObject({ attempts: 3, lastStatusCode: 500, lastError: 'HTTP 500: down for maintenance' })
		expect(rx.requests).toHaveLength(3)
		expect(new Set(rx.requests.map((r) => r.webhookId)).size).toBe(1)

		rx.respondWith(() => new Response(null, { status: 200 }))
		const retried = await api.post(`/webhooks/${hook.id}/deliveries/${failed.id}/retry`)
		expect(retried).toMatchObject({ status: 202, body: { id: failed.id, state: 'pending' } })
		await until(async () => (await deliveriesOf(hook.id, '?state=delivered')).items[0], 'the retried delivery')
		expect(rx.requests.map((r) => r.status)).toEqual([500, 500, 500, 200])
		expect((await api.post(`/webhooks/${hook.id}/deliveries/${Bun.randomUUIDv7()}/retry`)).body.error.code).toBe('DELIVERY_NOT_FOUND')
	})

	it('answers a retry behind its session’s earlier pending delivery with that one’s time, not now', async () => {
		const { hook, log } = await firstAttemptDeferred(2)
		const retryAt = log[1].nextAttemptAt
		// The newest waits behind the first, which waits ten minutes for its retry.
		const retried = await api.post(`/webhooks/${hook.id}/deliveries/${log[0].id}/retry`)
		expect(retried).toMatchObject({ status: 202, body: { id: log[0].id, state: 'pending', nextAttemptAt: retryAt } })
		// The first itself is sent now.
		const head = await api.post(`/webhooks/${hook.id}/deliveries/${log[1].id}/retry`)
		expect(Date.parse(head.body.nextAttemptAt)).toBeLessThan(Date.parse(retryAt) - 500_000)
	})

	it('shows a delivered delivery queued again as pending and not delivered, by a retry or a replay', async () => {
		const rx = await receiver()
		const hook = await createWebhook(api, { url: rx.url })
		const { positions } = await publish(1)
		const delivered = await until(async () => (await deliveriesOf(hook.id, '?state=delivered')).items[0], 'the delivery')
		expect(delivered.deliveredAt).not.toBeNull()
		rx.respondWith(() => new Response(null, { status: 503, headers: { 'retry-after': '600' } }))
		const retried = await api.post(`/webhooks/${hook.id}/deliveries/${delivered.id}/retry`)
		expect(retried).toMatchObject({ status: 202, body: { state: 'pending', deliveredAt: null, attempts: 1 } })
		const failing = await until(async () => {
			const [item] = (await deliveriesOf(hook.id)).items
			return item.lastStatusCode === 503 && item
		}, 'the retry’s attempt')
		expect(failing).toMatchObject({ state: 'pending', deliveredAt: null, attempts: 2 })
		// A replay starts the count again: the schedule starts again.
		rx.respondWith(() => new Response(null, { status: 200 }))
		await api.post(`/webhooks/${hook.id}/replay`, { since: positions[0]!.id })
		const again = await until(async () => (await deliveriesOf(hook.id, '?state=delivered')).items[0], 'the replayed delivery')
		expect(again).toMatchObject({ id: delivered.id, attempts: 1, lastStatusCode: 200 })
	})

	it('honours Retry-After on 429', async () => {
		let n = 0
		const rx = await receiver(() =>
			n++ === 0 ? new Response(null, { status: 429, headers: { 'retry-after': '1' } }) : new Response(null, { status: 200 }),
		)
		await createWebhook(api, { url: rx.url })
		await publish(1)
		await rx.until((rs) => rs.length === 2, 'the retry')
		const [first, second] = rx.requests
		expect(Number(second!.timestamp) - Number(first!.timestamp)).toBeGreaterThanOrEqual(1)
	})

	it('replays what the stream holds from a position or a time, with the original webhook-ids', async () => {
		const rx = await receiver()
		const sessionId = Bun.randomUUIDv7()
		const before = new Date().toISOString()
		const { events, positions } = await publish(3, sessionId)
		const hook = await createWebhook(api, { url: rx.url })
		const after = await publish(1, sessionId)
		await rx.until((rs) => rs.length === 1, 'the event after creation')
		// A delivery still pending (its outcome not written yet) is not queued twice: wait for it.
		await until(async () => (await deliveriesOf(hook.id, '?state=delivered')).items.length === 1, 'the delivery recorded')
		expect(rx.requests[0]!.webhookId).not.toBeOneOf(events.map((e) => e.id))

		const byTime = await api.post(`/webhooks/${hook.id}/replay`, { since: before })
		expect(byTime).toMatchObject({ status: 202, body: { queued: 4, truncated: false } })
		await rx.until((rs) => rs.length === 5, 'the replayed events')
		await until(async () => (await deliveriesOf(hook.id, '?state=delivered')).items.length === 4, 'the replay recorded')
		// In stream order within the session, the one delivered before sent again too.
		expect(rx.requests.slice(1).map((r) => r.webhookId)).toEqual([...events, ...after.events].map((e) => e.id))

		const byPosition = await api.post(`/webhooks/${hook.id}/replay`, { since: positions[1]!.id })
		expect(byPosition.body.queued).toBe(3)
		await rx.until((rs) => rs.length === 8, 'the second replay')
		expect(rx.requests.slice(5).map((r) => r.webhookId)).toEqual([...events.slice(1), ...after.events].map((e) => e.id))
		// A delivery still pending is not queued again, nor counted: wait for the second replay's outcomes.
		await until(async () => (await deliveriesOf(hook.id, '?state=pending')).items.length === 0, 'the second replay recorded')

		// A date alone: from its midnight, UTC.
		const byDate = await api.post(`/webhooks/${hook.id}/replay`, { since: before.slice(0, 10) })
		expect(byDate.status).toBe(202)
		expect(byDate.body.queued).toBeGreaterThanOrEqual(4)
	})

	it('replays a delivery that waits for its retry now, and the session’s events behind it, with their webhook-ids', async () => {
		const rx = await receiver(() => new Response(null, { status: 503, headers: { 'retry-after': '600' } }))
		const hook = await createWebhook(api, { url: rx.url })
		const { positions } = await publish(2)
		await until(async () => (await deliveriesOf(hook.id)).items.some((d: { attempts: number }) => d.attempts === 1), 'the first attempt recorded')
		rx.respondWith(() => new Response(null, { status: 200 }))
		expect((await api.post(`/webhooks/${hook.id}/replay`, { since: positions[0]!.id })).status).toBe(202)
		await until(async () => (await deliveriesOf(hook.id, '?state=delivered')).items.length === 2, 'both delivered, ten minutes early')
		expect(rx.requests.map((r) => r.status)).toEqual([503, 200, 200])
		expect(rx.requests[1]!.webhookId).toBe(rx.requests[0]!.webhookId)
	})

	it('exports delivery results, attempt latency and backlog age without tenant or endpoint labels', async () => {
		const res = await fetch(`${app.url}/metrics`)
		const text = await res.text()
		expect(text).toMatch(/switchboard_webhook_deliveries_total\{result="delivered"[^}]*\} [1-9]/)
		expect(text).toContain('switchboard_webhook_attempt_duration_seconds_bucket')
		expect(text).toMatch(/switchboard_webhook_backlog_endpoints\{older_than_seconds="0"[^}]*\} \d+/)
		expect(text).toContain('switchboard_webhook_backlog_oldest_seconds')
		for (const line of text.split('\n').filter((l) => l.startsWith('switchboard_webhook'))) expect(line).not.toMatch(/tenant|endpoint_id|webhook_id/)
		// The webhooks role's reader of the event stream, beside the consumer's: a stalled one shows as lag.
		expect(text).toMatch(/switchboard_stream_group_lag_seconds\{stream="domain-events",group="webhooks"\} \d/)
		expect(text).toMatch(/switchboard_stream_group_pending\{stream="domain-events",group="webhooks"\} \d/)
	})
})
