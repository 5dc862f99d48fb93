import { afterAll, beforeAll, describe, expect, it } from 'bun:test'
import { sql } from 'drizzle-orm'
import { domainEvent, DOMAIN_EVENT_TYPES, type DomainEvent, type DomainEventType } from '../../src/core/catalogue'
import { createVerifiedUser } from '../helpers/accounts'
import { startTestApp, type TestApp } from '../helpers/app'
import { clientFor, type Client } from '../helpers/sessions'
import { until } from '../helpers/until'
import { message } from '../events/fixtures'
import { createSession, createWebhook, sampleData, startReceiver, verify, type Receiver } from './helpers'

let app: TestApp
let api: Client

/**
 * The spec's days of retries pressed into seconds: enough attempts that a delivery is never given
 * up here. A receiver that fails every other request can answer one lane's attempts with a 500 many
 * times running (the lanes' requests interleave in step), and a dozen attempts — about a second —
 * ran out on a loaded machine, which is the schedule working, not what these tests are about.
 */
const RETRY_SCHEDULE = ['20ms', '40ms', '60ms', '80ms', ...Array<string>(100).fill('100ms')].join(',')

beforeAll(async () => {
	app = await startTestApp({
		ROLES: 'api,webhooks',
		WEBHOOK_ALLOW_PRIVATE_TARGETS: 'true',
		WEBHOOK_RETRY_SCHEDULE: RETRY_SCHEDULE,
		WEBHOOK_POLL_MS: '50',
		OUTBOX_RELAY_INTERVAL_MS: '50',
	})
	await app.server.roles.ready
	api = clientFor(app, await createVerifiedUser(app))
})
afterAll(() => app.close())

const receivers: Receiver[] = []
afterAll(async () => {
	for (const r of receivers) await r.stop()
})
async function receiver(...args: Parameters<typeof startReceiver>) {
	const r = await startReceiver(...args)
	receivers.push(r)
	return r
}

/** Appends events of the tenant's session to domain-events, as a runner would. */
function publish(sessionId: string, types: readonly DomainEventType[], mediaId = Bun.randomUUIDv7()) {
	const data = sampleData(mediaId)
	const events = types.map((type) => domainEvent(type, { tenantId: api.user.user.tenantId, sessionId }, data[type] as never)) as DomainEvent[]
	return app.server.bus.publish(events).then(() => events)
}

/** Ends the oldest still signing of the secrets rotated out of an endpoint, as its 24 h running out would. */
async function expireOldestRotatedOut(endpointId: string) {
	await app.server.database.db.execute(sql`
		update webhook_previous_secrets set expires_at = now() - interval '1 second'
		where endpoint_id = ${endpointId} and expires_at = (
			select min(expires_at) from webhook_previous_secrets where endpoint_id = ${endpointId} and expires_at > now())`)
}

describe('webhook delivery', () => {
	it('delivers every event type, signed so that the Standard Webhooks verifier accepts it, with the body the WebSocket sends', async () => {
		const rx = await receiver()
		const hook = await createWebhook(api, { url: rx.url })
		expect(hook.secret).toStartWith('whsec_')
		const sessionId = await createSession(api)
		const mediaId = Bun.randomUUIDv7()
		const published = await publish(
			sessionId,
			DOMAIN_EVENT_TYPES.filter((t) => t !== 'session.created'),
			mediaId,
		)

		await rx.until((rs) => new Set(rs.map((r) => r.json.type)).size === DOMAIN_EVENT_TYPES.length, 'every event type')
		for (const r of rx.requests) {
			expect(verify(hook.secret, r)).toEqual(JSON.parse(r.body))
			expect(r.webhookId).toBe(r.json.eventId)
			expect(r.json.id).toMatch(/^\d+-\d+$/)
		}
		const upsert = rx.requests.find((r) => r.json.type === 'session.messages.upsert')!
		const sent = published.find((e) => e.type === 'session.messages.upsert')!
		expect(upsert.json).toEqual({
			id: upsert.json.id,
			eventId: sent.id,
			type: sent.type,
			tenantId: sent.tenantId,
			sessionId,
			occurredAt: sent.occurredAt,
			data: sent.data,
		})
		// Media travel as a reference to GET /media/:id, never as bytes.
		expect(upsert.json.data.messages[0].media).toMatchObject({ id: mediaId, state: 'stored' })
		expect(upsert.body).not.toContain('base64')
	})

	it('sends a body unchanged whatever its text holds: quotes, backslashes, braces, commas, NULL, line breaks, emoji', async () => {
		const rx = await receiver()
		const hook = await createWebhook(api, { url: rx.url, events: ['session.messages.upsert'] })
		const sessionId = await createSession(api)
		const text = 'say "hi" \\ {a,b} NULL, "NULL"\n\t\\"} 😀 \u0001 end'
		await app.server.bus.publish([
			domainEvent(
				'session.messages.upsert',
				{ tenantId: api.user.user.tenantId, sessionId },
				{ messages: [message('3EB0ESCAPES', { text })], type: 'notify' },
			),
		])
		await rx.until((rs) => rs.length >= 1, 'the delivery')
		const [r] = rx.requests
		expect(verify(hook.secret, r!)).toEqual(JSON.parse(r!.body))
		expect(r!.json.data.messages[0].text).toBe(text)
	})

	it('sends only the event types and sessions an endpoint asked for', async () => {
		const rx = await receiver()
		const [one, two] = [await createSession(api, 'one'), await createSession(api, 'two')]
		// The session named in upper case: a uuid in either case is the same session.
		const created = await createWebhook(api, { url: rx.url, events: ['session.messages.*', 'session.qr.updated'], sessionIds: [one.toUpperCase()] })
		expect(created.sessionIds).toEqual([one])
		await publish(two, ['session.messages.upsert'])
		await publish(one, ['session.contacts.upsert', 'session.qr.updated', 'session.messages.upsert', 'session.messages.update'])
		await rx.until((rs) => rs.length >= 3, 'three deliveries')
		await publish(one, ['session.status.connected', 'session.qr.updated'])
		await rx.until((rs) => rs.length >= 4, 'the fourth delivery')
		expect(rx.requests.map((r) => [r.json.sessionId, r.json.type])).toEqual([
			[one, 'session.qr.updated'],
			[one, 'session.messages.upsert'],
			[one, 'session.messages.update'],
			[one, 'session.qr.updated'],
		])
	})

	it("sends an account's events to its own endpoints only, never to another account's", async () => {
		const other = clientFor(app, await createVerifiedUser(app))
		const [mine, theirs] = [await receiver(), await receiver()]
		await createWebhook(api, { url: mine.url })
		// Every type, every session of its account: the widest an endpoint can listen.
		const theirHook = await createWebhook(other, { url: theirs.url })
		const session = await createSession(api, 'private')
		const theirSession = await createSession(other, 'theirs')
		const published = await publish(session, ['session.messages.upsert', 'session.contacts.upsert'])
		await mine.until((rs) => published.every((e) => rs.some((r) => r.webhookId === e.id)), "the account's own deliveries")
		// Told after the first account's events: once it is recorded, any of theirs would be as well.
		const [told] = await app.server.bus.publish([
			domainEvent(
				'session.qr.updated',
				{ tenantId: other.user.user.tenantId, sessionId: theirSession },
				sampleData(Bun.randomUUIDv7())['session.qr.updated'],
			),
		])
		await theirs.until((rs) => rs.some((r) => r.json.id === told!.id), "the other account's own event")
		expect(new Set(mine.requests.map((r) => [r.json.tenantId, r.json.sessionId].join(' ')))).toEqual(
			new Set([`${api.user.user.tenantId} ${session}`]),
		)
		expect(new Set(theirs.requests.map((r) => [r.json.tenantId, r.json.sessionId].join(' ')))).toEqual(
			new Set([`${other.user.user.tenantId} ${theirSession}`]),
		)
		const log = await other.get(`/webhooks/${theirHook.id}/deliveries`)
		expect(new Set(log.body.items.map((d: { sessionId: string }) => d.sessionId))).toEqual(new Set([theirSession]))
	})

	it('sends a webhook.test event through the delivery path, and lists it in the delivery log', async () => {
		const rx = await receiver()
		const hook = await createWebhook(api, { url: rx.url, events: ['session.qr.updated'] })
		const test = await api.post(`/webhooks/${hook.id}/test`)
		expect(test.status).toBe(202)
		await rx.until((rs) => rs.length === 1, 'the test event')
		expect(rx.requests[0]!.json).toMatchObject({
			id: null,
			eventId: test.body.eventId,
			type: 'webhook.test',
			sessionId: null,
			data: { webhookId: hook.id },
		})
		verify(hook.secret, rx.requests[0]!)
		const log = await until(async () => {
			const res = await api.get(`/webhooks/${hook.id}/deliveries`)
			return res.body.items[0]?.state === 'delivered' && res.body
		}, 'the delivery to be recorded')
		expect(log.items[0]).toMatchObject({
			id: test.body.deliveryId,
			eventId: test.body.eventId,
			eventType: 'webhook.test',
			attempts: 1,
			lastStatusCode: 204,
		})
	})

	it('signs with the old and the new secret after a rotation', async () => {
		const rx = await receiver()
		const hook = await createWebhook(api, { url: rx.url })
		const rotated = await api.post(`/webhooks/${hook.id}/rotate-secret`)
		expect(rotated.status).toBe(200)
		expect(rotated.body.secret).not.toBe(hook.secret)
		expect(Date.parse(rotated.body.previousSecretExpiresAt) - Date.now()).toBeGreaterThan(23 * 3600 * 1000)
		await api.post(`/webhooks/${hook.id}/test`)
		await rx.until((rs) => rs.length === 1, 'the test event')
		const [request] = rx.requests
		expect(request!.signature.split(' ')).toHaveLength(2)
		expect(request!.signature).toMatch(/^v1,\S+ v1,\S+$/)
		verify(hook.secret, request!)
		verify(rotated.body.secret, request!)
		expect(() => verify(`whsec_${Buffer.alloc(32, 9).toString('base64')}`, request!)).toThrow()
	})

	it('keeps every secret rotated out signing until its own 24 h are over, however soon the next rotation comes', async () => {
		const rx = await receiver()
		const hook = await createWebhook(api, { url: rx.url })
		const rotate = async () => {
			const res = await api.post(`/webhooks/${hook.id}/rotate-secret`)
			expect(res.status).toBe(200)
			return res.body.secret as string
		}
		// The second rotation is what a client does that lost the first one's answer and tries again.
		const [second, third] = [await rotate(), await rotate()]
		await api.post(`/webhooks/${hook.id}/test`)
		await rx.until((rs) => rs.length === 1, 'the test event')
		expect(rx.requests[0]!.signature.split(' ')).toHaveLength(3)
		for (const secret of [hook.secret, second, third]) expect(verify(secret, rx.requests[0]!)).toEqual(JSON.parse(rx.requests[0]!.body))

		// 24 h after the first rotation: the first secret stops, the second goes on.
		await expireOldestRotatedOut(hook.id)
		await api.post(`/webhooks/${hook.id}/test`)
		await rx.until((rs) => rs.length === 2, 'the second test event')
		expect(rx.requests[1]!.signature.split(' ')).toHaveLength(2)
		verify(second, rx.requests[1]!)
		verify(third, rx.requests[1]!)
		expect(() => verify(hook.secret, rx.requests[1]!)).toThrow()
	})

	it('keeps the secret each of two rotations at once replaced signing', async () => {
		const rx = await receiver()
		const hook = await createWebhook(api, { url: rx.url })
		const rotations = await Promise.all([1, 2].map(() => api.post(`/webhooks/${hook.id}/rotate-secret`)))
		expect(rotations.map((r) => r.status)).toEqual([200, 200])
		await api.post(`/webhooks/${hook.id}/test`)
		await rx.until((rs) => rs.length === 1, 'the test event')
		expect(rx.requests[0]!.signature.split(' ')).toHaveLength(3)
		for (const secret of [hook.secret, ...rotations.map((r) => r.body.secret as string)]) verify(secret, rx.requests[0]!)
	})

	it('refuses a rotation while 5 secrets rotated out still sign, saying when the oldest stops, and rotates again once it has', async () => {
		const rx = await receiver()
		const hook = await createWebhook(api, { url: rx.url })
		const secrets = [hook.secret]
		for (let i = 0; i < 5; i++) secrets.push((await api.post(`/webhooks/${hook.id}/rotate-secret`)).body.secret)
		const first = Date.now()
		const refused = await api.post(`/webhooks/${hook.id}/rotate-secret`)
		expect(refused.status).toBe(409)
		expect(refused.body.error.code).toBe('TOO_MANY_SECRET_ROTATIONS')
		const retryAt = Date.parse(refused.body.error.details.retryAt)
		expect(retryAt - first).toBeGreaterThan(23 * 3600 * 1000)
		expect(refused.body.error.message).toContain(refused.body.error.details.retryAt)

		// The refused rotation changed nothing: the six secrets sign.
		await api.post(`/webhooks/${hook.id}/test`)
		await rx.until((rs) => rs.length === 1, 'the test event')
		expect(rx.requests[0]!.signature.split(' ')).toHaveLength(6)
		for (const secret of secrets) verify(secret, rx.requests[0]!)

		await expireOldestRotatedOut(hook.id)
		expect((await api.post(`/webhooks/${hook.id}/rotate-secret`)).status).toBe(200)
	})

	it('disables an endpoint that answers 410, and sends its waiting deliveries once it is enabled again', async () => {
		const rx = await receiver(() => new Response('gone', { status: 410 }))
		const hook = await createWebhook(api, { url: rx.url })
		await api.post(`/webhooks/${hook.id}/test`)
		const disabled = await until(async () => {
			const res = await api.get(`/webhooks/${hook.id}`)
			return res.body.enabled === false && res.body
		}, 'the endpoint to be disabled')
		expect(disabled.disabledReason).toBe('gone')
		expect(rx.requests).toHaveLength(1)

		rx.respondWith(() => new Response(null, { status: 200 }))
		expect(
			(await api.fetch(`/webhooks/${hook.id}`, { method: 'PATCH', headers: { 'content-type': 'application/json' }, body: '{"enabled":true}' }))
				.status,
		).toBe(200)
		await rx.until((rs) => rs.some((r) => r.status === 200), 'the delivery after re-enabling')
	})

	it('counts a redirect as a failure without following it, and retries', async () => {
		let n = 0
		const rx = await receiver(() =>
			n++ === 0 ? new Response(null, { status: 302, headers: { location: 'http://169.254.169.254/' } }) : new Response(null, { status: 200 }),
		)
		const hook = await createWebhook(api, { url: rx.url })
		await api.post(`/webhooks/${hook.id}/test`)
		await rx.until((rs) => rs.length === 2, 'the retry')
		expect(rx.requests.map((r) => r.status)).toEqual([302, 200])
		expect(rx.requests[0]!.webhookId).toBe(rx.requests[1]!.webhookId)
	})

	it('delivers every event in per-session order to a receiver that fails every other request and is down for a while, each webhook-id once', async () => {
		const rx = await receiver((_r, n) => new Response(null, { status: n % 2 ? 500 : 200 }))
		await createWebhook(api, { url: rx.url, events: ['session.qr.updated'] })
		const sessions = [await createSession(api, 'a'), await createSession(api, 'b'), await createSession(api, 'c')]
		const sent = new Map<string, string[]>(sessions.map((s) => [s, []]))
		const burst = async (count: number) => {
			for (let i = 0; i < count; i++) for (const s of sessions) sent.get(s)!.push(...(await publish(s, ['session.qr.updated'])).map((e) => e.id))
		}
		await burst(10)
		await rx.until((rs) => rs.length >= 6, 'the first deliveries')
		await rx.down()
		await burst(10)
		await Bun.sleep(300) // down for a while: the dispatcher keeps failing and backing off meanwhile
		rx.up()
		await burst(5)
		const total = sessions.length * 25
		await rx.until((rs) => new Set(rs.filter((r) => r.status === 200).map((r) => r.webhookId)).size === total, 'every event accepted', 60_000)

		const firstAccepted = new Map<string, (typeof rx.requests)[number]>()
		for (const r of rx.accepted()) if (!firstAccepted.has(r.webhookId)) firstAccepted.set(r.webhookId, r)
		for (const s of sessions) {
			const order = [...firstAccepted.values()].filter((r) => r.json.sessionId === s).map((r) => r.webhookId)
			expect(order).toEqual(sent.get(s)!)
		}
	}, 90_000)
})
