import { afterAll, beforeAll, describe, expect, it } from 'bun:test'
import postgres from 'postgres'
import { domainEvent, type DomainEvent } from '../../src/core/catalogue'
import { createVerifiedUser } from '../helpers/accounts'
import { startTestApp, type TestApp } from '../helpers/app'
import { clientFor, type Client } from '../helpers/sessions'
import { until } from '../helpers/until'
import { message } from '../events/fixtures'
import { createWebhook, startReceiver, verify, type Receiver } from './helpers'

/**
 * What a receiver or the endpoint's owner changes while a lane is sending: a receiver's odd error
 * text, a new URL, a rotated secret, a pause. Each lane here holds its receiver's answer to one
 * request (a gate), makes the change, and lets the answer go: every attempt after it must follow
 * the change.
 */

let app: TestApp
let api: Client
let sql: postgres.Sql

beforeAll(async () => {
	app = await startTestApp({
		ROLES: 'api,webhooks',
		WEBHOOK_ALLOW_PRIVATE_TARGETS: 'true',
		WEBHOOK_RETRY_SCHEDULE: '50ms,50ms',
		WEBHOOK_POLL_MS: '50',
	})
	await app.server.roles.ready
	api = clientFor(app, await createVerifiedUser(app))
	sql = postgres(app.database.url, { max: 1, onnotice: () => {} })
})
afterAll(async () => {
	await sql?.end()
	await app?.close()
})

const receivers: Receiver[] = []
afterAll(async () => {
	for (const r of receivers) await r.stop()
})

/** A receiver that holds its answer to request number `held` (from 0) until `release()`. */
async function gatedReceiver(held: number) {
	let release = () => {}
	const gate = new Promise<void>((resolve) => (release = resolve))
	let reached = () => {}
	const atGate = new Promise<void>((resolve) => (reached = resolve))
	const rx = await startReceiver(async (_, n) => {
		if (n === held) {
			reached()
			await gate
		}
		return new Response(null, { status: 204 })
	})
	receivers.push(rx)
	return { rx, atGate, release }
}

/** `count` message events of one new session, published in one go. */
async function publish(count: number): Promise<DomainEvent[]> {
	const sessionId = Bun.randomUUIDv7()
	const events = Array.from({ length: count }, (_, i) =>
		domainEvent('session.messages.upsert', { tenantId: api.user.user.tenantId, sessionId }, { messages: [message(`3EB0CHG${i}`)], type: 'notify' }),
	) as DomainEvent[]
	await app.server.bus.publish(events)
	return events
}

/** Rows of the endpoint some dispatcher still holds: none means no lane of it is sending. */
const held = async (endpointId: string) =>
	(await sql<{ n: number }[]>`select count(*)::int as n from webhook_deliveries where endpoint_id = ${endpointId} and locked_until is not null`)[0]!.n

describe('a receiver’s error text', () => {
	it('is written whatever it holds (a NUL, half an emoji at the cut), and the outcomes beside it are too', async () => {
		const odd = await startReceiver(() => new Response(`bad\u0000${'a'.repeat(508)}😀😀`, { status: 500 }))
		const fine = await startReceiver()
		receivers.push(odd, fine)
		const failing = await createWebhook(api, { url: odd.url })
		const healthy = await createWebhook(api, { url: fine.url })
		const events = await publish(5)
		const deliveries = async (id: string) =>
			(await api.get(`/webhooks/${id}/deliveries`)).body.items as { state: string; attempts: number; lastError: string }[]
		const failed = await until(async () => (await deliveries(failing.id)).find((d) => d.state === 'failed'), 'the failing lane’s head given up')
		const text = failed.lastError
		expect(failed).toMatchObject({ attempts: 3, lastError: expect.stringContaining('bad\uFFFDaaa') })
		// Valid Unicode: it survives UTF-8 unchanged (a lone surrogate would not).
		expect(Buffer.from(text).toString()).toBe(text)
		await until(async () => (await deliveries(healthy.id)).filter((d) => d.state === 'delivered').length === 5, 'the healthy endpoint’s outcomes')
		expect(fine.requests.map((r) => r.webhookId)).toEqual(events.map((e) => e.id))
	})
})

describe('an endpoint changed while its lane sends', () => {
	it('moved to a new URL: every later attempt goes there, in order', async () => {
		const { rx: before, atGate, release } = await gatedReceiver(3)
		const after = await startReceiver()
		receivers.push(after)
		const hook = await createWebhook(api, { url: before.url })
		const events = await publish(20)
		await atGate
		expect((await api.patch(`/webhooks/${hook.id}`, { url: after.url })).status).toBe(200)
		release()
		await after.until((rs) => rs.length === 16, 'the rest at the new URL')
		expect(before.requests.map((r) => r.webhookId)).toEqual(events.slice(0, 4).map((e) => e.id))
		expect(after.requests.map((r) => r.webhookId)).toEqual(events.slice(4).map((e) => e.id))
	})

	it('given a new secret: every later attempt is signed with both', async () => {
		const { rx, atGate, release } = await gatedReceiver(3)
		const hook = await createWebhook(api, { url: rx.url })
		await publish(10)
		await atGate
		const rotated = await api.post<{ secret: string }>(`/webhooks/${hook.id}/rotate-secret`, {})
		expect(rotated.status).toBe(200)
		release()
		await rx.until((rs) => rs.length === 10, 'every event')
		for (const r of rx.requests.slice(4)) {
			expect(r.signature.split(' ')).toHaveLength(2)
			expect(() => verify(rotated.body.secret, r)).not.toThrow()
			expect(() => verify(hook.secret, r)).not.toThrow()
		}
	})

	it('paused: nothing more goes out until it is enabled again, then the rest, in order', async () => {
		const { rx, atGate, release } = await gatedReceiver(3)
		const hook = await createWebhook(api, { url: rx.url })
		const events = await publish(20)
		await atGate
		expect((await api.patch(`/webhooks/${hook.id}`, { enabled: false })).status).toBe(200)
		release()
		// The lane let go of its rows: it stopped, and no claim takes a paused endpoint's.
		await until(async () => (await held(hook.id)) === 0, 'the lane to stop')
		expect(rx.requests).toHaveLength(4)
		expect((await api.patch(`/webhooks/${hook.id}`, { enabled: true })).status).toBe(200)
		await rx.until((rs) => rs.length === 20, 'the rest once enabled')
		expect(rx.requests.map((r) => r.webhookId)).toEqual(events.map((e) => e.id))
	})

	it('deleted: its lane stops', async () => {
		const { rx, atGate, release } = await gatedReceiver(3)
		const hook = await createWebhook(api, { url: rx.url })
		await publish(20)
		await atGate
		expect((await api.delete(`/webhooks/${hook.id}`)).status).toBe(204)
		release()
		// A later endpoint's delivery from the same dispatcher: sent after the deleted lane's next turn.
		const control = await startReceiver()
		receivers.push(control)
		await createWebhook(api, { url: control.url })
		await publish(1)
		await control.until((rs) => rs.length === 1, 'the control delivery')
		expect(rx.requests).toHaveLength(4)
	})
})
