import { afterEach, describe, expect, it } from 'bun:test'
import { count, isNull } from 'drizzle-orm'
import { outbox } from '../../src/db/schema'
import { enqueue } from '../../src/bus'
import { DOMAIN_EVENTS } from '../../src/core/streams'
import { startTestApp, type TestApp } from '../helpers/app'
import { startPrivateRedis } from '../helpers/private-redis'
import { until } from '../helpers/until'
import { countMessages, createSession, historyBatches } from './fixtures'

// The whole server (relay, consumer Worker) on a Redis of the test's own, which the test restarts.
const cleanups: (() => Promise<unknown>)[] = []
afterEach(async () => {
	for (const cleanup of cleanups.splice(0).reverse()) await cleanup()
})

async function serverOn(redisUrl: string): Promise<TestApp> {
	const app = await startTestApp({ REDIS_URL: redisUrl, ROLES: 'api,consumer', OUTBOX_RELAY_INTERVAL_MS: '50', CONSUMER_BATCH_SIZE: '2' })
	cleanups.push(() => app.close())
	await app.server.roles.ready
	return app
}

const pendingOutboxRows = async (app: TestApp) =>
	(await app.server.database.db.select({ n: count() }).from(outbox).where(isNull(outbox.publishedAt)))[0]!.n

/** Writes `batches` through the outbox, as the API does, and nudges the relay. */
async function produce(app: TestApp, batches: ReturnType<typeof historyBatches>) {
	await app.server.database.db.transaction((tx) => enqueue(tx, batches))
	app.server.relay?.nudge()
}

describe.each([
	['keeps its data', true],
	['comes back empty', false],
] as const)('a Redis restart that %s', (_, persist) => {
	it('loses and duplicates nothing: events written while Redis was down arrive once it is back', async () => {
		const redis = await startPrivateRedis({ persist })
		cleanups.push(() => redis.close())
		const app = await serverOn(redis.url)
		const meta = await createSession(app.server.database.db, 'restart')
		const all = historyBatches(meta, 3_000, { perBatch: 250 })
		const [before, during] = [all.slice(0, 6), all.slice(6)]

		await produce(app, before)
		await until(async () => (await countMessages(app.server.database.db, meta.sessionId)) === 1_500, 'the first half stored')

		await redis.stop()
		await produce(app, during)
		// The relay cannot publish: the rows wait in the outbox, nothing is lost.
		expect(await pendingOutboxRows(app)).toBe(during.length)
		const ready = await fetch(`${app.url}/ready`)
		expect(ready.status).toBe(503)

		await redis.start()
		await until(async () => (await countMessages(app.server.database.db, meta.sessionId)) === 3_000, 'every message stored after the restart', 30_000)
		expect(await pendingOutboxRows(app)).toBe(0)
		expect((await app.server.bus.deadLetters(DOMAIN_EVENTS)).length).toBe(0)
		expect((await fetch(`${app.url}/ready`)).status).toBe(200)
		// Every message exactly once (the key is the primary key; the count says none is missing or extra).
		expect(await countMessages(app.server.database.db, meta.sessionId)).toBe(3_000)
	})
})
