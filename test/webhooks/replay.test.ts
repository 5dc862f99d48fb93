import { afterAll, beforeAll, describe, expect, it } from 'bun:test'
import pino from 'pino'
import { domainEvent, type DomainEvent } from '../../src/core/catalogue'
import { DOMAIN_EVENTS } from '../../src/core/streams'
import type { RedisClient } from '../../src/lib/redis-client'
import { closeRedis, openRedis } from '../../src/redis/connection'
import { createVerifiedUser } from '../helpers/accounts'
import { startTestApp, type TestApp } from '../helpers/app'
import { REDIS_TEST_URL } from '../helpers/redis'
import { clientFor, type Client } from '../helpers/sessions'
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
		const hook = await createWebhook(api, { url: 'https://example.com/replay' })
		const positions = await publish(5)
		// What STREAM_MAX_LEN does, exactly rather than by whole nodes: the stream keeps its newest 3.
		await redis.xtrim(app.redisPrefix + DOMAIN_EVENTS, 'MAXLEN', 3)
		expect(await replay(hook.id, '2000-01-01')).toMatchObject({ status: 202, body: { queued: 3, truncated: true } })
		expect(await replay(hook.id, positions[1]!.id)).toMatchObject({ status: 202, body: { queued: 3, truncated: true } })
		expect(await replay(hook.id, positions[2]!.id)).toMatchObject({ status: 202, body: { queued: 3, truncated: false } })
		expect(await replay(hook.id, positions[3]!.id)).toMatchObject({ status: 202, body: { queued: 2, truncated: false } })
	})
})
