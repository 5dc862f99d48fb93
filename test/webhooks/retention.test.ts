import { afterAll, beforeAll, describe, expect, it } from 'bun:test'
import postgres from 'postgres'
import { loadConfig } from '../../src/config'
import { domainEvent, type DomainEvent } from '../../src/core/catalogue'
import { createLogger } from '../../src/logger'
import { firstIdAt } from '../../src/roles/webhooks/retention'
import { startServer } from '../../src/server'
import { createVerifiedUser } from '../helpers/accounts'
import { startTestApp, type TestApp } from '../helpers/app'
import { clientFor, type Client } from '../helpers/sessions'
import { until } from '../helpers/until'
import { createWebhook, startReceiver, type Receiver } from './helpers'

// The delivery log keeps a delivery for WEBHOOK_DELIVERY_RETENTION_SECONDS once it has ended. The
// role prunes at its start and every ten minutes; here deliveries are made old by moving their
// ids and times back eight days (ids are uuid v7: they carry the time they were recorded), and
// another process starts the role.
const DAY_MS = 24 * 3600 * 1000

let app: TestApp
let api: Client
let sql: postgres.Sql
const receivers: Receiver[] = []
const cleanups: (() => Promise<void>)[] = []

beforeAll(async () => {
	app = await startTestApp({
		ROLES: 'api,webhooks',
		WEBHOOK_ALLOW_PRIVATE_TARGETS: 'true',
		WEBHOOK_RETRY_SCHEDULE: '10ms',
		WEBHOOK_POLL_MS: '50',
		WEBHOOK_DELIVERY_RETENTION_SECONDS: String(7 * 24 * 3600),
	})
	await app.server.roles.ready
	api = clientFor(app, await createVerifiedUser(app))
	sql = postgres(app.database.url, { max: 2, onnotice: () => {} })
})
afterAll(async () => {
	for (const cleanup of cleanups) await cleanup()
	for (const r of receivers) await r.stop()
	await sql?.end({ timeout: 5 })
	await app?.close()
})

async function endpoint(respond: Parameters<typeof startReceiver>[0]) {
	const rx = await startReceiver(respond)
	receivers.push(rx)
	return createWebhook(api, { url: rx.url })
}

type Delivery = { id: string; eventId: string; state: string; attempts: number }
const logOf = async (hookId: string): Promise<Delivery[]> => (await api.get(`/webhooks/${hookId}/deliveries`)).body.items

/** Moves deliveries back in time: their ids (the time they were recorded) and every time they carry. */
async function age(ids: readonly string[], byMs: number) {
	for (const id of ids) {
		const at = new Date(Date.now() - byMs)
		await sql`update webhook_deliveries set id = ${Bun.randomUUIDv7('hex', at)}::uuid, created_at = ${at},
			delivered_at = case when delivered_at is null then null else ${at}::timestamptz end,
			last_attempt_at = case when last_attempt_at is null then null else ${at}::timestamptz end
			where id = ${id}`
	}
}

describe('the delivery log', () => {
	it('forgets deliveries that ended longer ago than the retention, and keeps the newer ones and every pending one', async () => {
		const delivered = await endpoint(() => new Response(null, { status: 204 }))
		const failing = await endpoint(() => new Response('no', { status: 500 }))
		// Waits an hour for its next attempt: pending, whatever its age.
		const waiting = await endpoint(() => new Response(null, { status: 503, headers: { 'retry-after': '3600' } }))
		const sessionId = Bun.randomUUIDv7()
		const events = Array.from({ length: 4 }, (_, i) =>
			domainEvent('session.qr.updated', { tenantId: api.user.user.tenantId, sessionId }, { qr: `qr-${i}` }),
		) as DomainEvent[]
		await app.server.bus.publish(events)
		const ended = (log: Delivery[], state: string) => log.length === 4 && log.every((d) => d.state === state && d.attempts > 0)
		await until(async () => ended(await logOf(delivered.id), 'delivered'), 'every delivery delivered')
		await until(async () => ended(await logOf(failing.id), 'failed'), 'every delivery failed')
		// The first waits an hour for its retry, the others behind it: all four pending.
		await until(async () => (await logOf(waiting.id)).some((d) => d.attempts === 1), 'a deferred delivery')

		const before = new Map<string, Delivery[]>()
		for (const hook of [delivered, failing, waiting]) before.set(hook.id, await logOf(hook.id))
		// The two oldest events of each endpoint, eight days back; the two newest stay as they are.
		const oldEvents = new Set(events.slice(0, 2).map((e) => e.id))
		const old = (hookId: string) => before.get(hookId)!.filter((d) => oldEvents.has(d.eventId))
		await age(
			[delivered, failing, waiting].flatMap((hook) => old(hook.id).map((d) => d.id)),
			8 * DAY_MS,
		)

		// Another process taking up the role prunes as it starts.
		const another = await startServer({ ...app.config, roles: new Set(['webhooks']) }, createLogger(app.config))
		cleanups.push(() => another.stop())
		await another.roles.ready
		await until(async () => (await logOf(delivered.id)).length === 2, 'the old delivered deliveries to go')

		const eventsOf = (log: Delivery[]) => log.map((d) => d.eventId).sort()
		const newer = events
			.slice(2)
			.map((e) => e.id)
			.sort()
		expect(eventsOf(await logOf(delivered.id))).toEqual(newer)
		expect(eventsOf(await logOf(failing.id))).toEqual(newer)
		// Pending deliveries are work still to do: they stay, old or not.
		const waitingNow = await logOf(waiting.id)
		expect(waitingNow.map((d) => d.state)).toEqual(['pending', 'pending', 'pending', 'pending'])
		expect(eventsOf(waitingNow)).toEqual(eventsOf(before.get(waiting.id)!))
	})

	it('refuses a retention shorter than an hour, at start', () => {
		expect(() => loadConfig({ WEBHOOK_DELIVERY_RETENTION_SECONDS: '60' })).toThrow(
			'WEBHOOK_DELIVERY_RETENTION_SECONDS: must be a whole number from 3600 to 3153600000 (got 60)',
		)
	})
})

describe('the first id of a millisecond', () => {
	it('sorts before every uuid v7 of that millisecond and after every one before it', () => {
		const ms = Date.now()
		for (let i = 0; i < 100; i++) {
			expect(firstIdAt(ms) <= Bun.randomUUIDv7('hex', ms)).toBe(true)
			expect(firstIdAt(ms) > Bun.randomUUIDv7('hex', ms - 1)).toBe(true)
		}
	})
})
