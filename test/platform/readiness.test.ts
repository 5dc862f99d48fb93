import { afterAll, beforeAll, describe, expect, it } from 'bun:test'
import type { RedisClient } from '../../src/lib/redis-client'
import { composeApi } from '../../src/server'
import { loadConfig } from '../../src/config'
import { openPostgres, type Database } from '../../src/db/client'
import { createLogger } from '../../src/logger'
import { closeRedis, openRedis } from '../../src/redis/connection'
import { createTestDatabase, type TestDatabase } from '../helpers/database'
import { REDIS_TEST_URL } from '../helpers/redis'

const config = loadConfig({ NODE_ENV: 'test', LOG_LEVEL: 'silent' })
const logger = createLogger(config)
// Nothing listens on port 1: a dependency pointed there is down from the start.
const DEAD_PG = 'postgres://postgres@127.0.0.1:1/nothing'
const DEAD_REDIS = 'redis://127.0.0.1:1'

let testDb: TestDatabase
const opened: { database: Database; redis: RedisClient | null; close(): Promise<void> }[] = []

beforeAll(async () => {
	testDb = await createTestDatabase()
})
afterAll(async () => {
	for (const { database, redis, close } of opened) {
		await close()
		if (redis) await closeRedis(redis)
		await database.close()
	}
	await testDb.drop()
})

function appWith(pgUrl: string, redisUrl: string | null, isDraining = () => false, rolesDown = (): string[] => []) {
	// More than one connection, as a server has: with one, the check's ping queues behind the
	// upkeep the API starts with (purges, the media collector, token retention), and on a loaded
	// host that alone can pass the check's second.
	const database = openPostgres({ url: pgUrl, max: 4 })
	const redis = redisUrl ? openRedis(redisUrl, logger, 'readiness-test') : null
	const api = composeApi(config, logger, { database, redis, bus: null, relay: null, isDraining, rolesDown })
	opened.push({ database, redis, close: api.close })
	return api.app
}

const ready = (app: ReturnType<typeof appWith>) => app.handle(new Request('http://localhost/ready'))

describe('readiness', () => {
	it('is ready when Postgres and Redis answer', async () => {
		const res = await ready(appWith(testDb.url, REDIS_TEST_URL))
		// Status and body together, so that a failure says which check was down.
		expect({ status: res.status, body: await res.json() }).toEqual({
			status: 200,
			body: { status: 'ready', checks: { database: 'up', redis: 'up' } },
		})
	})

	it('reports Redis as disabled in embedded mode', async () => {
		const res = await ready(appWith(testDb.url, null))
		expect(res.status).toBe(200)
		expect(((await res.json()) as { checks: unknown }).checks).toEqual({ database: 'up', redis: 'disabled' })
	})

	it('answers 503 naming the database when Postgres is down', async () => {
		const res = await ready(appWith(DEAD_PG, REDIS_TEST_URL))
		expect(res.status).toBe(503)
		const body = (await res.json()) as { error: { code: string; message: string; details: unknown } }
		expect(body.error.code).toBe('NOT_READY')
		expect(body.error.message).toBe('Not ready: database is down')
		expect(body.error.details).toEqual({ database: 'down', redis: 'up' })
	})

	it('answers 503 naming Redis when Redis is down', async () => {
		const res = await ready(appWith(testDb.url, DEAD_REDIS))
		expect(res.status).toBe(503)
		const body = (await res.json()) as { error: { message: string; details: unknown } }
		expect(body.error.message).toBe('Not ready: redis is down')
		expect(body.error.details).toEqual({ database: 'up', redis: 'down' })
	})

	it('answers 503 while shutting down', async () => {
		const res = await ready(appWith(testDb.url, null, () => true))
		expect(res.status).toBe(503)
		expect(((await res.json()) as { error: { message: string } }).error.message).toBe('Not ready: shutting down')
	})

	it('answers 503 naming a role whose Worker is not running (starting, or crashed and restarting)', async () => {
		const res = await ready(
			appWith(
				testDb.url,
				REDIS_TEST_URL,
				() => false,
				() => ['runner'],
			),
		)
		expect(res.status).toBe(503)
		expect(((await res.json()) as { error: { message: string } }).error.message).toBe('Not ready: the runner role is not running')
	})

	it('keeps liveness at 200 whatever the dependencies do', async () => {
		const res = await appWith(DEAD_PG, DEAD_REDIS).handle(new Request('http://localhost/health'))
		expect(res.status).toBe(200)
		expect(await res.json()).toEqual({ status: 'ok' })
	})
})
