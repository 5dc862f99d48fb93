import type { Subprocess } from 'bun'
import type { RedisClient } from '../../src/lib/redis-client'
import pino from 'pino'
import { sessions } from '../../src/db/schema'
import { commandPartition } from '../../src/core/streams'
import { createRedisLeaseStore, type Fleet, type LeaseStore } from '../../src/roles/runner/leases'
import { closeRedis, openRedis } from '../../src/redis/connection'
import { spawnServer } from '../helpers/process'
import { REDIS_TEST_URL } from '../helpers/redis'
import { startSessionsWorld, untilStatus, type ApiSession, type Client, type SessionsWorld } from '../helpers/sessions'
import { until } from '../helpers/until'

/**
 * A fleet as deployed: this test process is the api and the consumer, every runner is a process
 * of its own (`bun src/index.ts` with ROLES=runner) on the same Postgres, Redis and stand-in, so
 * `kill -9` is the real thing. Leases are short so failover fits in a test.
 */
/** TEST_LEASE_TTL_MS measures failover with another TTL (the default deployment uses 10 000). */
export const LEASE_TTL_MS = Number(process.env.TEST_LEASE_TTL_MS ?? 3_000)

export interface RunnerProcess {
	proc: Subprocess<'ignore', 'pipe', 'pipe'>
	/** Its HTTP port: /health, /metrics. */
	url: string
	pid: number
	/** The runner id contains the process id: `<host>:<pid>:<random>`. */
	owns(runnerId: string | null | undefined): boolean
}

export interface FleetWorld extends SessionsWorld {
	partitions: number
	api: Client
	runners: RunnerProcess[]
	spawnRunner(): Promise<RunnerProcess>
	/** Live runners and partition holders, straight from Redis. */
	leases(): Promise<Fleet>
	/** Resolves once `runner` holds `count` partitions (and, with `total`, the fleet holds them all). */
	untilHolding(runner: RunnerProcess, count: number, timeoutMs?: number): Promise<void>
	/** A session of the test tenant on partition `partition`, paired by QR as `phone` and past its first history sync. */
	pairedOn(partition: number, phone: string): Promise<ApiSession>
	sessionOwner(id: string): Promise<string | null>
}

export async function startFleet({ partitions, env = {} }: { partitions: number; env?: Record<string, string> }): Promise<FleetWorld> {
	const world = await startSessionsWorld({
		ROLES: 'api,consumer',
		COMMAND_PARTITIONS: String(partitions),
		RUNNER_LEASE_TTL_MS: String(LEASE_TTL_MS),
		...env,
	})
	const api = await world.tenant()
	const runnerEnv: Record<string, string> = {
		NODE_ENV: 'test',
		ROLES: 'runner',
		DATABASE_URL: world.app.database.url,
		REDIS_URL: REDIS_TEST_URL,
		REDIS_PREFIX: world.app.redisPrefix,
		WA_WEBSOCKET_URL: world.standIn.wsUrl,
		WA_ROOT_PUBLIC_KEY: world.standIn.rootPublicKey,
		COMMAND_PARTITIONS: String(partitions),
		RUNNER_LEASE_TTL_MS: String(LEASE_TTL_MS),
		LOG_LEVEL: process.env.TEST_RUNNER_LOG_LEVEL ?? 'info',
		...env,
	}
	const redis: RedisClient = openRedis(REDIS_TEST_URL, pino({ level: 'silent' }), 'fleet-test')
	const store: LeaseStore = createRedisLeaseStore({ redis, prefix: world.app.redisPrefix, partitions, commandTimeoutMs: 2_000 })
	const runners: RunnerProcess[] = []

	const fleet: FleetWorld = {
		...world,
		partitions,
		api,
		runners,
		async spawnRunner() {
			const { proc, url } = await spawnServer(runnerEnv)
			const runner: RunnerProcess = { proc, url, pid: proc.pid, owns: (id) => !!id && id.split(':').at(-2) === String(proc.pid) }
			runners.push(runner)
			await until(async () => (await store.fleet()).runners.some(runner.owns), `runner ${proc.pid} to heartbeat`, 20_000)
			return runner
		},
		leases: () => store.fleet(),
		async untilHolding(runner, count, timeoutMs = 20_000) {
			await until(
				async () => {
					const { partitions: held } = await store.fleet()
					return held.filter((l) => runner.owns(l?.holder)).length === count && held.every((l) => l !== null)
				},
				`runner ${runner.pid} to hold ${count} partitions`,
				timeoutMs,
			)
		},
		async pairedOn(partition, phone) {
			let id: string
			do id = Bun.randomUUIDv7()
			while (commandPartition(id, partitions) !== partition)
			await world.app.server.database.db
				.insert(sessions)
				.values({ id, tenantId: api.user.user.tenantId, name: `p${partition}`, status: 'stopped', desiredState: 'stopped' })
			const started = await api.post(`/sessions/${id}/start`)
			if (started.status !== 202) throw new Error(`POST /sessions/${id}/start: ${started.status} ${JSON.stringify(started.body)}`)
			const { data } = await world.events.waitFor('session.qr.updated', id, { timeoutMs: 20_000 })
			await world.standIn.scanQr(data.qr, phone)
			await world.events.waitFor('session.status.connected', id, { timeoutMs: 20_000 })
			// Until its first history sync is through, Baileys holds a reconnected socket's events for
			// up to 20 s waiting for history that will not come again; a real phone finishes it first too.
			await world.events.waitFor('session.history.sync', id, {
				where: (e) => e.data.syncType === 'INITIAL_BOOTSTRAP' && !!e.data.part,
				timeoutMs: 20_000,
			})
			return untilStatus(api, id, 'connected')
		},
		async sessionOwner(id) {
			return (await api.get<{ ownerRunner: string | null }>(`/sessions/${id}`)).body.ownerRunner
		},
		async close() {
			for (const r of runners) r.proc.kill('SIGKILL')
			await Promise.all(runners.map((r) => r.proc.exited))
			await store.close()
			await closeRedis(redis)
			await world.close()
		},
	}
	return fleet
}

/**
 * A fleet of two runners that share its partitions: the first held all of them before the second
 * took its half, so the first runs every session paired earlier and half of those paired after.
 */
export async function startTwoRunners(partitions: number): Promise<{ fleet: FleetWorld; first: RunnerProcess; second: RunnerProcess }> {
	const fleet = await startFleet({ partitions })
	const first = await fleet.spawnRunner()
	await fleet.untilHolding(first, partitions)
	const second = await fleet.spawnRunner()
	await fleet.untilHolding(second, partitions / 2)
	return { fleet, first, second }
}

/** The one device the stand-in paired for `phone`. */
export const deviceOf = (phone: string) => `${phone}:1@s.whatsapp.net`
