import { afterAll, beforeAll, describe, expect, it } from 'bun:test'
import pino from 'pino'
import postgres from 'postgres'
import { domainEvent, type DomainEvent } from '../../src/core/catalogue'
import { DOMAIN_EVENTS } from '../../src/core/streams'
import type { RedisClient } from '../../src/lib/redis-client'
import { closeRedis, openRedis } from '../../src/redis/connection'
import { createVerifiedUser } from '../helpers/accounts'
import { startTestApp, type TestApp } from '../helpers/app'
import { REDIS_TEST_URL } from '../helpers/redis'
import { clientFor, type Client } from '../helpers/sessions'
import { until } from '../helpers/until'
import { createWebhook } from './helpers'

// The api role alone: nothing delivers, so a replay's answer counts only what it queued.
let app: TestApp
let api: Client
let redis: RedisClient

beforeAll(async () => {
	app = await startTestApp({ ROLES: 'api' })
	api = clientFor(app, await createVerifiedUser(app))
	redis = openRedis(REDIS_TEST_URL, pino({ level: 'silent' }), 'replay-test')
})
afterAll(async () => {
	await closeRedis(redis)
	await app.close()
})

function publish(count: number) {
	const sessionId = Bun.randomUUIDv7()
	const events = Array.from({ length: count }, (_, i) =>
		domainEvent('session.qr.updated', { tenantId: api.user.user.tenantId, sessionId }, { qr: `qr-${i}` }),
	) as DomainEvent[]
	return app.server.bus.publish(events)
}

const replay = (id: string, since: string) => api.post(`/webhooks/${id}/replay`, { since })

describe('a replay', () => {
	it('is not truncated from before the first event of a stream that lost none', async () => {
		const hook = await createWebhook(api, { url: 'https://example.com/replay' })
		await publish(5)
		expect(await replay(hook.id, '2000-01-01')).toMatchObject({ status: 202, body: { queued: 5, truncated: false } })
	})

	it('is truncated from before the oldest event held once the stream trimmed some, and not from that one on', async () => {
		const positions = await publish(5)
		// What STREAM_MAX_LEN does, exactly rather than by whole nodes: the stream keeps its newest 3.
		await redis.xtrim(app.redisPrefix + DOMAIN_EVENTS, 'MAXLEN', 3)
		// A webhook of its own for each, so each counts what it queued from nothing.
		const fresh = async (since: string) => replay((await createWebhook(api, { url: 'https://example.com/replay' })).id, since)
		expect(await fresh('2000-01-01')).toMatchObject({ status: 202, body: { queued: 3, truncated: true } })
		expect(await fresh(positions[1]!.id)).toMatchObject({ status: 202, body: { queued: 3, truncated: true } })
		expect(await fresh(positions[2]!.id)).toMatchObject({ status: 202, body: { queued: 3, truncated: false } })
		expect(await fresh(positions[3]!.id)).toMatchObject({ status: 202, body: { queued: 2, truncated: false } })
	})

	it('counts what it queued: events whose deliveries are still pending and due are queued again by none', async () => {
		const hook = await createWebhook(api, { url: 'https://example.com/replay' })
		const positions = await publish(4)
		expect((await replay(hook.id, positions[0]!.id)).body.queued).toBe(4)
		expect((await replay(hook.id, positions[0]!.id)).body.queued).toBe(0)
		const { items } = (await api.get(`/webhooks/${hook.id}/deliveries`)).body as { items: unknown[] }
		expect(items).toHaveLength(4)
	})
})

describe('a webhook deleted while a request on it runs', () => {
	it('answers that request 404, as after the delete, not 500', async () => {
		const hook = await createWebhook(api, { url: 'https://example.com/deleted' })
		const sql = postgres(app.database.url, { max: 2, onnotice: () => {} })
		try {
			// The delete is made but not committed: the request finds the webhook, then its write waits
			// on the delete's lock, and fails its foreign key once the delete commits.
			const answer = await sql.begin(async (tx) => {
				await tx`delete from webhook_endpoints where id = ${hook.id}`
				const test = api.post(`/webhooks/${hook.id}/test`)
				await until(async () => {
					const [row] = await sql`select count(*)::int as n from pg_stat_activity where wait_event_type = 'Lock' and datname = current_database()`
					return row!.n > 0
				}, 'the test event waiting on the delete')
				return [test]
			})
			const res = await answer[0]!
			expect(res.status).toBe(404)
			expect(res.body.error.code).toBe('WEBHOOK_NOT_FOUND')
		} finally {
			await sql.end()
		}
	})
})
