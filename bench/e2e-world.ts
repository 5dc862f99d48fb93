import { startStandIn, type StandIn } from '@switchboard/standin'
import { createVerifiedUser } from '../test/helpers/accounts'
import { startTestApp, type TestApp } from '../test/helpers/app'
import { followEvents, type EventLog } from '../test/helpers/event-log'
import { type Client, clientFor, untilStatus } from '../test/helpers/sessions'
import { runnerEnv, spawnRunner } from './runner-process'

/** Sessions paired at once; the stand-in and the runner share the machine with the driver. */
const PAIRING_PARALLELISM = 5

export interface E2eWorld {
	standIn: StandIn
	app: TestApp
	/** One tenant's signed-in owner. */
	api: Client
	/** POST /sessions → QR → scanned by `phone` → connected; the session's id. */
	pair(phone: string): Promise<string>
	/** Pairs one session per phone, a few at a time. */
	pairAll(phones: readonly string[]): Promise<string[]>
	/** The pairing needs the domain events; a measurement should not pay for reading them. */
	stopFollowing(): Promise<void>
	/**
	 * Resolves once the runner has been quiet for a second (under SETTLED_CPU of a core), or after
	 * `timeoutMs`: new sessions upload prekeys and take their initial sync for a while after they
	 * connect, and a steady-state measurement starts after that. Resolves with the seconds it took.
	 */
	settle(timeoutMs?: number): Promise<number>
	close(): Promise<void>
}

/** The share of a core under which a process counts as settled. */
const SETTLED_CPU = 0.05

/**
 * Resolves once `used` (CPU time so far, µs) grew by less than SETTLED_CPU of a core over a whole
 * second, or after `timeoutMs`; with the seconds it took.
 */
export async function untilQuiet(used: () => number | Promise<number>, timeoutMs = 60_000): Promise<number> {
	const started = performance.now()
	let before = await used()
	while (performance.now() - started < timeoutMs) {
		await Bun.sleep(1_000)
		const now = await used()
		if (now - before < SETTLED_CPU * 1_000_000) break
		before = now
	}
	return (performance.now() - started) / 1000
}

/**
 * The whole path as in production, on this machine: the WhatsApp stand-in and the api and consumer
 * roles in this process (the consumer in its Worker), the runner alone in a child process
 * (bench/memory-runner.ts), all on one database and Redis prefix. With BENCH_E2E_PROFILE=<dir> the
 * runner writes a CPU profile there (`bun --cpu-prof`) when it stops.
 */
export async function startE2eWorld(): Promise<E2eWorld> {
	const standIn = await startStandIn({ onError: () => {} })
	const app = await startTestApp({
		ROLES: 'api,consumer',
		MAX_SESSIONS_PER_TENANT: '1000',
		COMMAND_PARTITIONS: '4',
		LOG_LEVEL: 'fatal',
	})
	const events: EventLog = followEvents(app.server.bus)
	let following = true
	const runner = await spawnRunner(runnerEnv(app, standIn, { LOG_LEVEL: process.env.BENCH_E2E_LOG_LEVEL ?? 'fatal' }), {
		profileDir: process.env.BENCH_E2E_PROFILE,
	})
	const api = clientFor(app, await createVerifiedUser(app))

	async function pair(phone: string): Promise<string> {
		const created = await api.post<{ id: string }>('/sessions', {})
		if (created.status !== 201) throw new Error(`POST /sessions: ${created.status} ${JSON.stringify(created.body)}`)
		const id = created.body.id
		const qr = await events.waitFor('session.qr.updated', id, { timeoutMs: 60_000 })
		await standIn.scanQr(qr.data.qr, phone)
		await events.waitFor('session.status.connected', id, { timeoutMs: 60_000 })
		await untilStatus(api, id, 'connected', 60_000)
		return id
	}

	return {
		standIn,
		app,
		api,
		pair,
		async pairAll(phones) {
			const ids: string[] = []
			for (let i = 0; i < phones.length; i += PAIRING_PARALLELISM)
				ids.push(...(await Promise.all(phones.slice(i, i + PAIRING_PARALLELISM).map(pair))))
			return ids
		},
		async stopFollowing() {
			if (following) await events.stop()
			following = false
		},
		settle: (timeoutMs) =>
			untilQuiet(async () => {
				const { user, system } = await runner.cpu()
				return user + system
			}, timeoutMs),
		async close() {
			await runner.stop()
			if (following) await events.stop()
			await app.close()
			await standIn.stop()
		},
	}
}
