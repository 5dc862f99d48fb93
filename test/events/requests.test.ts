import { afterEach, beforeEach, describe, expect, it } from 'bun:test'
import pino from 'pino'
import type { Bus, Delivery } from '../../src/bus/bus'
import { createMemoryBus } from '../../src/bus/memory-bus'
import { createRedisBus } from '../../src/bus/redis-bus'
import { createRequester, isExpired, NoAnswerError, type Query, QueryFailedError, reply, type Requester } from '../../src/bus/requests'
import { isQueryType } from '../../src/core/catalogue'
import { queryStream, RUNNER_GROUP } from '../../src/core/streams'
import { closeRedis, openRedis } from '../../src/redis/connection'
import { createTestRedisPrefix, REDIS_TEST_URL } from '../helpers/redis'
import { SESSION, TENANT } from './helpers'
import { rejectionOf } from '../helpers/rejection'

const logger = pino({ level: process.env.TEST_LOG_LEVEL ?? 'silent' })
const PARTITIONS = 4
const meta = { tenantId: TENANT, sessionId: SESSION }

/** Two ends of one backbone: the API's bus and the runner's (separate connections on Redis, as separate processes have). */
interface Ends {
	api: Bus
	runner: Bus
	close(): Promise<void>
}

const backbones: Record<string, () => Promise<Ends>> = {
	async redis() {
		const prefix = createTestRedisPrefix()
		const a = openRedis(REDIS_TEST_URL, logger, 'api')
		const r = openRedis(REDIS_TEST_URL, logger, 'runner')
		const api = createRedisBus({ redis: a, prefix: prefix.prefix, partitions: PARTITIONS, logger })
		const runner = createRedisBus({ redis: r, prefix: prefix.prefix, partitions: PARTITIONS, logger })
		return {
			api,
			runner,
			async close() {
				await api.close()
				await runner.close()
				await closeRedis(a)
				await closeRedis(r)
				await prefix.cleanup()
			},
		}
	},
	async memory() {
		const bus = createMemoryBus({ partitions: PARTITIONS, logger })
		return { api: bus, runner: bus, close: () => bus.close() }
	},
}

for (const [name, open] of Object.entries(backbones)) {
	describe(`request/reply on the ${name} bus`, () => {
		let ends: Ends
		let asker: Requester
		const stops: (() => Promise<void>)[] = []

		beforeEach(async () => {
			ends = await open()
			asker = createRequester({ bus: ends.api, logger, timeoutMs: 5_000 })
		})
		afterEach(async () => {
			for (const stop of stops.splice(0)) await stop()
			await asker.close()
			await ends.close()
		})

		/**
		 * A runner owning every partition that answers each query with `answer(query)`: one consumer a
		 * partition, as the runner reads them (on a Redis Cluster the partitions live on different nodes).
		 */
		async function runnerAnswering(answer: (q: Query) => Parameters<typeof reply>[2] | null, onQuery?: (q: Query) => void) {
			const seen: Query[] = []
			for (let p = 0; p < PARTITIONS; p++) {
				const consumer = await ends.runner.consume({
					group: RUNNER_GROUP,
					streams: [queryStream(p)],
					async handle(batch: Delivery[]) {
						for (const { envelope } of batch) {
							if (!isQueryType(envelope.type)) continue
							const q = envelope as Query
							seen.push(q)
							onQuery?.(q)
							const result = answer(q)
							if (result) await reply(ends.runner, q, result)
						}
					},
				})
				stops.push(() => consumer.stop())
			}
			return seen
		}

		it('carries a query to the runner of its session and its answer back to the asker', async () => {
			const seen = await runnerAnswering((q) => ({
				ok: true,
				answer: { results: (q.data as { phoneNumbers: string[] }).phoneNumbers.map((p) => ({ phoneNumber: p, exists: p.endsWith('1') })) },
			}))
			const answer = await asker.ask('session.contacts.check', meta, { phoneNumbers: ['15550000001', '15550000002'] })
			expect(answer.results).toEqual([
				{ phoneNumber: '15550000001', exists: true },
				{ phoneNumber: '15550000002', exists: false },
			])
			expect(seen).toHaveLength(1)
			expect(seen[0]!.sessionId).toBe(SESSION)
			expect(isExpired(seen[0]!)).toBe(false)
		})

		it("gives the runner's refusal to the asker with its code", async () => {
			await runnerAnswering(() => ({ ok: false, error: { code: 'session_not_connected', message: 'not connected' } }))
			const asked = asker.ask('session.profile_picture.get', meta, { jid: '15550000001@s.whatsapp.net' })
			expect(await rejectionOf(asked)).toBeInstanceOf(QueryFailedError)
			expect(await rejectionOf(asked)).toMatchObject({ code: 'session_not_connected' })
		})

		it('refuses an answer that does not match the catalogue', async () => {
			await runnerAnswering(() => ({ ok: true, answer: { picture: 'not an object' } }))
			const asked = asker.ask('session.profile_picture.get', meta, { jid: '15550000001@s.whatsapp.net' })
			expect(await rejectionOf(asked)).toMatchObject({ code: 'invalid_answer' })
		})

		it('gives up with NoAnswerError when no runner answers in time', async () => {
			const started = performance.now()
			const asked = asker.ask('session.contacts.check', meta, { phoneNumbers: ['15550000001'] }, { timeoutMs: 300 })
			expect(await rejectionOf(asked)).toBeInstanceOf(NoAnswerError)
			expect(performance.now() - started).toBeGreaterThanOrEqual(290)
		})

		it('marks a query past its deadline expired, so a runner that finds it late drops it', async () => {
			// The asker's subscription first: its first query makes it, which on a loaded Redis Cluster can
			// take longer than the 100 ms below, and a query whose answer could not be heard is not sent.
			await runnerAnswering(() => ({ ok: true, answer: { results: [] } }))
			await asker.ask('session.contacts.check', meta, { phoneNumbers: ['15550000001'] })
			for (const stop of stops.splice(0)) await stop()
			const asked = asker.ask('session.contacts.check', meta, { phoneNumbers: ['15550000002'] }, { timeoutMs: 100 })
			await asked.catch(() => {})
			// A runner comes up only now and reads the query that waited in the partition. It may read the
			// first query again too (its ack raced the stop): that one is told apart by its number.
			const found = Promise.withResolvers<Query>()
			const late = (q: Query) => (q.data as { phoneNumbers: string[] }).phoneNumbers[0] === '15550000002' && found.resolve(q)
			await runnerAnswering((q) => (isExpired(q) ? null : { ok: true, answer: { results: [] } }), late)
			expect(isExpired(await found.promise)).toBe(true)
		})

		it('makes a query expire when its asker gives up, however long the asker took to start listening', async () => {
			// The asker's first subscription is slow (a loaded Redis): it comes LISTEN_MS into a wait of
			// WAIT_MS, and the query must not outlive the wait. The margin between the two leaves a loaded
			// Redis Cluster room for the real subscription (a query whose answer could not be heard is not sent).
			const WAIT_MS = 1_000
			const LISTEN_MS = 600
			let listenedAt = Number.POSITIVE_INFINITY
			const slow: Bus = Object.assign(Object.create(ends.api), {
				listen: async (...args: Parameters<Bus['listen']>) => {
					const started = Date.now()
					const stop = await ends.api.listen(...args)
					await Bun.sleep(Math.max(0, LISTEN_MS - (Date.now() - started)))
					listenedAt = Date.now()
					return stop
				},
			})
			const patient = createRequester({ bus: slow, logger, timeoutMs: 5_000 })
			stops.push(() => patient.close())
			const found = Promise.withResolvers<Query>()
			await runnerAnswering((q) => {
				found.resolve(q)
				return null
			})
			const askedAt = Date.now()
			const asked = patient.ask('session.contacts.check', meta, { phoneNumbers: ['15550000003'] }, { timeoutMs: WAIT_MS })
			expect(await rejectionOf(asked)).toBeInstanceOf(NoAnswerError)
			const gaveUpAt = Date.now()
			// Otherwise the query was never sent, and there is nothing to find below.
			expect(listenedAt - askedAt).toBeLessThan(WAIT_MS)
			const query = await found.promise
			const expiresAt = Date.parse(query.data.reply.expiresAt)
			// The wait counts from the question, not from the subscription.
			expect(expiresAt).toBeLessThan(askedAt + WAIT_MS + 100)
			expect(expiresAt).toBeLessThanOrEqual(gaveUpAt)
			expect(isExpired(query, gaveUpAt)).toBe(true)
		})

		it('gives each asker only the answers to its own queries, many at once', async () => {
			const other = createRequester({ bus: ends.api, logger, timeoutMs: 5_000 })
			stops.push(() => other.close())
			await runnerAnswering((q) => ({
				ok: true,
				answer: { results: [{ phoneNumber: (q.data as { phoneNumbers: string[] }).phoneNumbers[0]!, exists: true }] },
			}))
			const numbers = Array.from({ length: 20 }, (_, i) => `1555000${String(i).padStart(4, '0')}`)
			const answers = await Promise.all(
				numbers.map((n, i) =>
					(i % 2 ? other : asker).ask('session.contacts.check', meta, { phoneNumbers: [n] }).then((a) => a.results[0]!.phoneNumber),
				),
			)
			expect(answers).toEqual(numbers)
		})
	})
}

describe('a refusal that arrives before the publish returns', () => {
	it('reaches the asker as its error, not as an unhandled rejection', async () => {
		const bus = createMemoryBus({ partitions: PARTITIONS, logger })
		const refused = Promise.withResolvers<void>()
		// A publish that returns only once the runner has refused (a cluster's publish also waits for a replica).
		const slow: Bus = {
			...bus,
			async publish(envelopes) {
				const positions = await bus.publish(envelopes)
				await refused.promise
				await Bun.sleep(10)
				return positions
			},
		}
		const asker = createRequester({ bus: slow, logger, timeoutMs: 5_000 })
		const unhandled: unknown[] = []
		const onUnhandled = (reason: unknown) => unhandled.push(reason)
		process.on('unhandledRejection', onUnhandled)
		const consumers = await Promise.all(
			Array.from({ length: PARTITIONS }, (_, p) =>
				bus.consume({
					group: RUNNER_GROUP,
					streams: [queryStream(p)],
					async handle(batch: Delivery[]) {
						for (const { envelope } of batch) {
							await reply(bus, envelope as Query, { ok: false, error: { code: 'session_not_connected', message: 'not connected' } })
							refused.resolve()
						}
					},
				}),
			),
		)
		try {
			const asked = asker.ask('session.profile_picture.get', meta, { jid: '15550000001@s.whatsapp.net' })
			expect(await rejectionOf(asked)).toMatchObject({ code: 'session_not_connected' })
			expect(unhandled).toEqual([])
		} finally {
			process.off('unhandledRejection', onUnhandled)
			for (const c of consumers) await c.stop()
			await asker.close()
			await bus.close()
		}
	})
})

describe('a bus that does not answer (Redis frozen: connections open, nothing replies)', () => {
	it('ends the query with NoAnswerError within its wait, whether the subscription or the publish hangs', async () => {
		const bus = createMemoryBus({ partitions: PARTITIONS, logger })
		const never = new Promise<never>(() => {})
		try {
			for (const frozen of [{ listen: () => never }, { publish: () => never }] as Partial<Bus>[]) {
				const asker = createRequester({ bus: { ...bus, ...frozen }, logger, timeoutMs: 5_000 })
				const started = performance.now()
				const asked = asker.ask('session.contacts.check', meta, { phoneNumbers: ['15550000001'] }, { timeoutMs: 300 })
				expect(await rejectionOf(asked)).toBeInstanceOf(NoAnswerError)
				expect(performance.now() - started).toBeLessThan(2_000)
				await asker.close()
			}
		} finally {
			await bus.close()
		}
	})
})
