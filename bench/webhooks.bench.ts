import { readFileSync } from 'node:fs'
import { sql } from 'drizzle-orm'
import pino from 'pino'
import { createRedisBus } from '../src/bus/redis-bus'
import { loadConfig } from '../src/config'
import { domainEvent, type DomainEvent } from '../src/core/catalogue'
import { wireEvent } from '../src/core/webhooks'
import { openPostgres } from '../src/db/client'
import { tenants } from '../src/db/schema'
import { createCipher } from '../src/lib/crypto'
import { createCursorCodec } from '../src/lib/cursor'
import { WebhooksService } from '../src/modules/webhooks/service'
import { closeRedis, openRedis } from '../src/redis/connection'
import { startRoles } from '../src/roles'
import { signatureHeaders } from '../src/roles/webhooks/sender'
import { message } from '../test/events/fixtures'
import { createTestDatabase } from '../test/helpers/database'
import { createTestRedisPrefix, REDIS_TEST_URL } from '../test/helpers/redis'
import type { BenchResult } from './run'

const EVENTS = Number(process.env.BENCH_WEBHOOK_EVENTS ?? 20_000)
/**
 * Deliveries before the measured ones, in the bare loop and in the path alike: the HTTP client and
 * server, and the path's code (compiled as it runs, in a Worker that starts cold), warm up first.
 */
const WARM_UP = 2_000
/** The bare loop runs this often; its median is the baseline (single runs vary by 2× here). */
const BARE_RUNS = 3

/** CPU time (ms) this process has used. */
const ownCpuMs = () => {
	const { user, system } = process.cpuUsage()
	return (user + system) / 1000
}

/** CPU time (ms) each of these processes has used, from Linux's /proc (null elsewhere). */
function processCpuMs(pids: readonly number[]): Map<number, number> | null {
	const used = new Map<number, number>()
	for (const pid of pids) {
		try {
			// utime and stime, in clock ticks (1/100 s), after the command name in parentheses.
			const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ')
			used.set(pid, (Number(fields[11]) + Number(fields[12])) * 10)
		} catch {
			return null
		}
	}
	return used
}

/**
 * Webhook deliveries per second through the whole path: `session.messages.upsert` events already
 * on `domain-events` → the webhooks role (production settings, in its own Worker as `ROLES=webhooks`
 * runs it) → a signed POST to a local receiver → its 2xx recorded in Postgres, measured after the
 * first WARM_UP deliveries and up to the last outcome written. The events belong to
 * as many sessions as requests may be in flight (WEBHOOK_CONCURRENCY), so that per-session order
 * allows as many as the baseline has. Baseline, in the same run: a bare loop of signed POSTs of
 * the same bodies to the same receiver, that many in flight, and nothing else (the median of
 * three runs after a warm-up).
 */
export default async function webhooksBench(): Promise<BenchResult[]> {
	const logger = pino({ level: 'warn' })
	const testDb = await createTestDatabase()
	const keys = createTestRedisPrefix()
	const config = loadConfig({
		NODE_ENV: 'test',
		DATABASE_URL: testDb.url,
		REDIS_URL: REDIS_TEST_URL,
		REDIS_PREFIX: keys.prefix,
		LOG_LEVEL: 'warn',
		WEBHOOK_ALLOW_PRIVATE_TARGETS: 'true',
		WEBHOOK_CONCURRENCY: process.env.WEBHOOK_CONCURRENCY,
		ROLES: 'webhooks',
	})
	const database = openPostgres({ url: testDb.url, max: 8 })
	const redis = openRedis(REDIS_TEST_URL, logger, 'bench')
	const bus = createRedisBus({ redis, prefix: keys.prefix, partitions: config.events.commandPartitions, logger })
	let received = 0
	const receiver = Bun.serve({
		port: 0,
		hostname: '127.0.0.1',
		async fetch(req) {
			await req.text()
			received++
			return new Response(null, { status: 204 })
		},
	})
	const url = `http://127.0.0.1:${receiver.port}/hook`
	try {
		const tenantId = Bun.randomUUIDv7()
		await database.db.insert(tenants).values({ id: tenantId, name: 'bench' })
		const webhooks = new WebhooksService({
			db: database.db,
			cursors: createCursorCodec(config.jwtSecret),
			cipher: createCipher(config.encryptionKey),
			bus,
			allowPrivateTargets: true,
			maxPerTenant: config.webhooks.maxPerTenant,
		})
		const { secret } = await webhooks.create(tenantId, { url })
		const SESSIONS = config.webhooks.concurrency
		const sessions = Array.from({ length: SESSIONS }, () => Bun.randomUUIDv7())
		// The path's warm-up comes first on the stream: its first WARM_UP deliveries are not measured.
		const events = Array.from({ length: WARM_UP + EVENTS }, (_, i) =>
			domainEvent(
				'session.messages.upsert',
				{ tenantId, sessionId: sessions[i % SESSIONS]! },
				{ messages: [message(`3EB0${i.toString(16).toUpperCase().padStart(18, '0')}`)], type: 'notify' },
			),
		) as DomainEvent[]
		const positions: string[] = []
		for (let i = 0; i < events.length; i += 500) positions.push(...(await bus.publish(events.slice(i, i + 500))).map((p) => p.id))

		// The bare loop: the measured events' bodies, signed and POSTed, `concurrency` at a time.
		const bodies = events.slice(WARM_UP).map((e, i) => ({ eventId: e.id, body: wireEvent(positions[WARM_UP + i]!, e) }))
		const bare = async (count: number) => {
			let next = 0
			await Promise.all(
				Array.from({ length: config.webhooks.concurrency }, async () => {
					for (let i = next++; i < count; i = next++) {
						const { eventId, body } = bodies[i]!
						const res = await fetch(url, {
							method: 'POST',
							body,
							headers: { 'content-type': 'application/json', ...signatureHeaders({ eventId, body, secrets: [secret] }, new Date()) },
						})
						if (res.status !== 204) throw new Error(`bare POST answered ${res.status}`)
					}
				}),
			)
		}
		await bare(Math.min(WARM_UP, EVENTS))
		const bareRuns: { rate: number; cpu: number }[] = []
		for (let run = 0; run < BARE_RUNS; run++) {
			const cpu = ownCpuMs()
			const started = performance.now()
			await bare(EVENTS)
			bareRuns.push({ rate: EVENTS / ((performance.now() - started) / 1000), cpu: ((ownCpuMs() - cpu) * 1000) / EVENTS })
		}
		const median = bareRuns.sort((a, b) => a.rate - b.rate)[Math.floor(BARE_RUNS / 2)]!
		const bareRate = median.rate
		const bareCpuPerDelivery = median.cpu
		received = 0
		// The role as it runs in production: in a Worker of its own, with its own pool.
		const roles = await startRoles({ config, logger, database, bus, redis })
		await roles.ready
		// The Worker's backends: opened by this run, so all of their CPU is the path's.
		const backends = async () =>
			((await database.sql!`select pid from pg_stat_activity where application_name = 'switchboard-webhooks'`) as unknown as { pid: number }[]).map(
				(r) => r.pid,
			)
		const delivered = async () => {
			const [row] = (await database.db.execute(sql`select count(*)::int as n from webhook_deliveries where state = 'delivered'`)) as unknown as {
				n: number
			}[]
			return row?.n ?? 0
		}
		// The path's warm-up, as the bare loop had its own: measured from its last delivery on.
		while (received < WARM_UP) await Bun.sleep(1)
		const started = performance.now()
		const ownCpu = ownCpuMs()
		const postgresBefore = processCpuMs(await backends())
		// The receiver's count first (no query while the path runs), then until the last outcomes are written.
		while (received < WARM_UP + EVENTS) await Bun.sleep(5)
		while ((await delivered()) < WARM_UP + EVENTS) await Bun.sleep(5)
		const seconds = (performance.now() - started) / 1000
		const ownCpuAfter = ownCpuMs()
		const postgresAfter = processCpuMs(await backends())
		// A backend opened after the warm-up used all of its CPU within the measured part.
		const postgresCpu =
			postgresBefore && postgresAfter ? [...postgresAfter].reduce((sum, [pid, ms]) => sum + ms - (postgresBefore.get(pid) ?? 0), 0) : null
		await roles.stop()
		if (received < WARM_UP + EVENTS) throw new Error(`the receiver got ${received} of ${WARM_UP + EVENTS}`)
		return [
			{
				name: `webhooks: ${EVENTS / 1000}k events stream → signed POST → 2xx recorded`,
				value: EVENTS / seconds,
				unit: 'deliveries/s',
				baseline: bareRate,
				baselineName: `bare signed POSTs, ${config.webhooks.concurrency} in flight (median of ${BARE_RUNS}: ${bareRuns.map((r) => Math.round(r.rate)).join(', ')})`,
				higherIsBetter: true,
			},
			{
				name: 'webhooks: CPU per delivery, this process (the role and the receiver)',
				value: ((ownCpuAfter - ownCpu) * 1000) / EVENTS,
				unit: 'µs',
				baseline: bareCpuPerDelivery,
				baselineName: 'the bare loop and receiver',
				higherIsBetter: false,
			},
			...(postgresCpu === null
				? []
				: [
						{
							name: 'webhooks: PostgreSQL CPU per delivery (the pool’s backends)',
							value: (postgresCpu * 1000) / EVENTS,
							unit: 'µs',
							higherIsBetter: false,
						},
					]),
		]
	} finally {
		await receiver.stop(true)
		await bus.close()
		await closeRedis(redis)
		await database.close()
		await testDb.drop()
		await keys.cleanup()
	}
}
