import pino from 'pino'
import { loadConfig } from '../src/config'
import { sessions, tenants, users } from '../src/db/schema'
import { domainEvent, type DomainEvent } from '../src/core/catalogue'
import { systemClock } from '../src/lib/clock'
import { createAccessTokens } from '../src/modules/auth/access-tokens'
import { startServer } from '../src/server'
import { createTestDatabase } from '../test/helpers/database'
import { createTestRedisPrefix, REDIS_TEST_URL } from '../test/helpers/redis'
import type { BenchResult } from './run'

const CLIENTS = Number(process.env.BENCH_WS_CLIENTS ?? 1_000)
const TENANTS = Number(process.env.BENCH_WS_TENANTS ?? 100)
const RATE = Number(process.env.BENCH_WS_EVENTS_PER_SECOND ?? 2_000)
const SECONDS = Number(process.env.BENCH_WS_SECONDS ?? 5)
const WARMUP_MS = 1_000
const TICK_MS = 5

const now = () => performance.timeOrigin + performance.now()

interface Run {
	latencies: number[]
	received: number
	expected: number
	closedEarly: number
}

/**
 * WebSocket fan-out, end to end: CLIENTS sockets on /ws/sessions spread over TENANTS tenants, RATE
 * `session.qr.updated` events a second for SECONDS seconds published on `domain-events` (Redis)
 * for random tenants, each reaching that tenant's CLIENTS/TENANTS sockets. Latency is from just
 * before the append (the stamp inside the event) to the client's receipt, the clients running in
 * a worker thread. Baseline: a bare Bun server whose sockets subscribe to the same topics, and
 * `server.publish` of the same messages at the same rate to the same clients, in the same run.
 */
export default async function wsFanoutBench(): Promise<BenchResult[]> {
	const baseline = await bareBunPublish()
	const app = await switchboard()
	const pct = (run: Run, p: number) => percentile(run.latencies, p)
	const label = `${CLIENTS} clients / ${TENANTS} tenants, ${RATE} ev/s`
	return [
		{
			name: `ws fan-out p50: stream append → client (${label})`,
			value: pct(app, 50),
			unit: 'ms',
			baseline: pct(baseline, 50),
			baselineName: 'bare Bun publish',
			higherIsBetter: false,
		},
		{
			name: `ws fan-out p99: stream append → client (${label})`,
			value: pct(app, 99),
			unit: 'ms',
			baseline: pct(baseline, 99),
			baselineName: 'bare Bun publish',
			higherIsBetter: false,
		},
		{
			name: `ws fan-out deliveries (${SECONDS} s measured)`,
			value: app.received,
			unit: 'msgs',
			baseline: app.expected,
			baselineName: 'expected',
			higherIsBetter: true,
		},
	]
}

function percentile(values: number[], p: number): number {
	if (!values.length) return Number.NaN
	const sorted = Float64Array.from(values).sort()
	return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!
}

/** Opens the sockets in a worker; `measure` then produces for WARMUP + SECONDS and returns what the clients saw. */
async function clients(urls: string[]) {
	const worker = new Worker(new URL('./ws-clients.worker.ts', import.meta.url))
	const next = <T>(kind: string) =>
		new Promise<T>((resolve) => {
			const listener = (e: MessageEvent<{ kind: string }>) => {
				if (e.data.kind !== kind) return
				worker.removeEventListener('message', listener)
				resolve(e.data as T)
			}
			worker.addEventListener('message', listener)
		})
	const opened = next('opened')
	worker.postMessage({ kind: 'open', urls })
	await opened
	return {
		/** Runs `produce(count)` every tick so that RATE events a second go out; resolves with the clients' figures. */
		async measure(produce: (count: number) => Promise<void> | void): Promise<Run> {
			const started = now()
			const measureFrom = started + WARMUP_MS
			const end = measureFrom + SECONDS * 1000
			worker.postMessage({ kind: 'measure', from: measureFrom })
			let sent = 0
			let measured = 0
			while (now() < end) {
				const due = Math.floor(((now() - started) / 1000) * RATE) - sent
				if (due > 0) {
					const inWindow = now() >= measureFrom
					await produce(due)
					sent += due
					if (inWindow) measured += due
				}
				await Bun.sleep(TICK_MS)
			}
			await Bun.sleep(500) // the last events in flight
			const done = next<{ latencies: number[]; received: number; closedEarly: number }>('done')
			worker.postMessage({ kind: 'finish' })
			const result = await done
			worker.terminate()
			return { ...result, expected: measured * (CLIENTS / TENANTS) }
		},
	}
}

const tenantIds = Array.from({ length: TENANTS }, () => Bun.randomUUIDv7())
const sessionIds = tenantIds.map(() => Bun.randomUUIDv7())
const pick = () => Math.floor(Math.random() * TENANTS)

async function bareBunPublish(): Promise<Run> {
	const server = Bun.serve<{ topic: string }>({
		port: 0,
		hostname: '127.0.0.1',
		fetch(req, srv) {
			const topic = new URL(req.url).searchParams.get('topic')!
			return srv.upgrade(req, { data: { topic } }) ? undefined : new Response('upgrade required', { status: 426 })
		},
		websocket: {
			open(ws) {
				ws.subscribe(ws.data.topic)
				ws.send('{"type":"ready"}')
			},
			message() {},
		},
	})
	try {
		const c = await clients(Array.from({ length: CLIENTS }, (_, i) => `ws://127.0.0.1:${server.port}/?topic=tenant:${tenantIds[i % TENANTS]}`))
		let seq = 0
		return await c.measure((count) => {
			const stamp = now()
			for (let i = 0; i < count; i++) {
				const t = pick()
				const text = JSON.stringify({
					id: `${Date.now()}-${seq++}`,
					eventId: Bun.randomUUIDv7(),
					type: 'session.qr.updated',
					tenantId: tenantIds[t],
					sessionId: sessionIds[t],
					occurredAt: new Date().toISOString(),
					data: { qr: `t:${stamp}` },
				})
				server.publish(`tenant:${tenantIds[t]}`, text)
			}
		})
	} finally {
		server.stop(true)
	}
}

async function switchboard(): Promise<Run> {
	const db = await createTestDatabase()
	const keys = createTestRedisPrefix()
	const config = loadConfig({
		NODE_ENV: 'test',
		PORT: '0',
		HOST: '127.0.0.1',
		DATABASE_URL: db.url,
		REDIS_URL: REDIS_TEST_URL,
		REDIS_PREFIX: keys.prefix,
		ROLES: 'api',
		LOG_LEVEL: 'warn',
		// However few tenants the clients are spread over.
		WS_MAX_SOCKETS_PER_TENANT: String(CLIENTS),
	})
	const server = await startServer(config, pino({ level: 'warn' }))
	try {
		// Accounts straight into the database and tokens signed with the app's key: the benchmark is
		// about fan-out, not about 100 argon2 sign-ups.
		await server.database.db.insert(tenants).values(tenantIds.map((id, i) => ({ id, name: `bench-${i}` })))
		const userIds = tenantIds.map(() => Bun.randomUUIDv7())
		await server.database.db
			.insert(users)
			.values(
				userIds.map((id, i) => ({ id, tenantId: tenantIds[i]!, email: `bench-${i}-${id}@example.test`, passwordHash: 'x', verifiedAt: new Date() })),
			)
		await server.database.db
			.insert(sessions)
			.values(sessionIds.map((id, i) => ({ id, tenantId: tenantIds[i]!, name: 'phone', desiredState: 'stopped' as const })))
		const signer = createAccessTokens({ secret: config.jwtSecret, ttlSeconds: 3600, clock: systemClock })
		const tokens = await Promise.all(userIds.map((sub, i) => signer.sign({ sub, tid: tenantIds[i]!, ver: 0 })))
		const c = await clients(Array.from({ length: CLIENTS }, (_, i) => `ws://127.0.0.1:${server.port}/ws/sessions?accessToken=${tokens[i % TENANTS]}`))
		return await c.measure(async (count) => {
			const stamp = now()
			const events: DomainEvent[] = []
			for (let i = 0; i < count; i++) {
				const t = pick()
				events.push(domainEvent('session.qr.updated', { tenantId: tenantIds[t]!, sessionId: sessionIds[t]! }, { qr: `t:${stamp}` }))
			}
			await server.bus.publish(events)
		})
	} finally {
		await server.stop()
		await db.drop()
		await keys.cleanup()
	}
}
