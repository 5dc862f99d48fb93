import { startStandIn } from '@switchboard/standin'
import type { DomainEvent } from '../src/core/catalogue'
import { DOMAIN_EVENTS } from '../src/core/streams'
import { createVerifiedUser } from '../test/helpers/accounts'
import { startTestApp } from '../test/helpers/app'
import { clientFor } from '../test/helpers/sessions'
import type { BenchResult } from './run'
import { type RunnerChild, rssRows, runnerEnv, spawnRunner } from './runner-process'

const STEPS = (process.env.BENCH_MEMORY_SESSIONS ?? '1,10,50').split(',').map(Number)
/** Sessions paired at once; the stand-in and the runner share the machine with the driver. */
const PAIRING_PARALLELISM = 5
/** After the last session connected: initial sync, pre-key upload and app-state fetches settle. */
const SETTLE_MS = Number(process.env.BENCH_MEMORY_SETTLE_MS ?? 5_000)
const TARGET_MB_PER_SESSION = 10
const MB = 1024 * 1024

/**
 * Memory per connected idle session. The runner runs alone in a child process (bench/memory-runner.ts)
 * against the WhatsApp stand-in; this process runs the api and the consumer that create and pair
 * the sessions, and the stand-in. Each reading is the child's RSS after a full collection, the
 * median of three; the baseline is the same child with 0 sessions.
 */
export default async function memoryBench(): Promise<BenchResult[]> {
	const standIn = await startStandIn({ onError: () => {} })
	const app = await startTestApp({ ROLES: 'api,consumer', MAX_SESSIONS_PER_TENANT: '1000', OUTBOX_RELAY_INTERVAL_MS: '50', COMMAND_PARTITIONS: '4' })
	const events = followDomainEvents(app.server.bus)
	let runner: RunnerChild | undefined
	try {
		runner = await spawnRunner(runnerEnv(app, standIn))
		const measure = runner.measure
		await Bun.sleep(SETTLE_MS)
		const base = await measure()
		console.error(`  0 sessions: RSS ${(base.rss / MB).toFixed(1)} MB`)
		const api = clientFor(app, await createVerifiedUser(app))
		let paired = 0
		let previous: { sessions: number; rss: number } | undefined
		const results: BenchResult[] = []
		for (const target of STEPS) {
			while (paired < target) {
				const batch = Math.min(PAIRING_PARALLELISM, target - paired)
				await Promise.all(Array.from({ length: batch }, (_, i) => pair(paired + i)))
				paired += batch
			}
			await Bun.sleep(SETTLE_MS)
			const now = await measure()
			const rss = now.rss / MB
			const perSession = (now.rss - base.rss) / MB / target
			console.error(
				`  ${target} sessions: RSS ${rss.toFixed(1)} MB, ${perSession.toFixed(2)} MB a session (heap ${(now.heapUsed / MB).toFixed(1)} MB)`,
			)
			const label = `${target} idle session${target === 1 ? '' : 's'}`
			results.push(...rssRows('memory', label, target, now, base, TARGET_MB_PER_SESSION))
			// The first session also pays once for what every later one shares (code Baileys runs for
			// the first time, compiled and JIT-ed); the step between two counts leaves that out.
			if (previous)
				results.push({
					name: `memory: RSS growth per added session (${previous.sessions} → ${target})`,
					value: (now.rss - previous.rss) / MB / (target - previous.sessions),
					unit: 'MB/session',
					baseline: TARGET_MB_PER_SESSION,
					baselineName: 'target',
					higherIsBetter: false,
				})
			previous = { sessions: target, rss: now.rss }
		}
		return results

		async function pair(n: number) {
			const phone = `1555090${String(n).padStart(4, '0')}`
			const created = await api.post<{ id: string }>('/sessions', {})
			if (created.status !== 201) throw new Error(`POST /sessions: ${created.status} ${JSON.stringify(created.body)}`)
			const id = created.body.id
			const qr = await events.next((e) => e.sessionId === id && e.type === 'session.qr.updated')
			await standIn.scanQr((qr.data as { qr: string }).qr, phone)
			await events.next((e) => e.sessionId === id && e.type === 'session.status.connected')
		}
	} finally {
		await runner?.stop(10_000)
		await events.stop()
		await app.close()
		await standIn.stop()
	}
}

/** Every domain event from now on, and a way to await one (seen before or after the call). */
function followDomainEvents(bus: import('../src/bus').Bus) {
	const seen: DomainEvent[] = []
	const waiters = new Set<() => void>()
	const abort = new AbortController()
	const tailing = (async () => {
		for await (const batch of bus.tail(DOMAIN_EVENTS, { after: '0', signal: abort.signal, blockMs: 200 })) {
			for (const entry of batch) seen.push(entry.envelope as DomainEvent)
			for (const w of [...waiters]) w()
		}
	})().catch(() => {})
	return {
		next(match: (e: DomainEvent) => boolean, timeoutMs = 60_000): Promise<DomainEvent> {
			return new Promise((resolve, reject) => {
				const timer = setTimeout(() => {
					waiters.delete(check)
					reject(new Error('timed out waiting for an event'))
				}, timeoutMs)
				const check = () => {
					const hit = seen.find(match)
					if (!hit) return
					clearTimeout(timer)
					waiters.delete(check)
					resolve(hit)
				}
				waiters.add(check)
				check()
			})
		},
		async stop() {
			abort.abort()
			await tailing
		},
	}
}
