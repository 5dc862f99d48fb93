import type { FleetSource, WorkerMetrics } from '../observability/system'
import { fleetSource } from './runner/fleet'
import { superviseWorker, type SupervisedWorker, type SupervisorEvent } from './supervisor'
import type { RoleDeps, RoleHandle, RoleModule, WorkerRole } from './types'

/** The roles that run beside the API, each a module with `start(deps)` plus a thin Worker entry. */
const ROLES: Record<WorkerRole, { load: () => Promise<RoleModule>; worker: URL }> = {
	consumer: { load: () => import('./consumer'), worker: new URL('./consumer/worker.ts', import.meta.url) },
	runner: { load: () => import('./runner'), worker: new URL('./runner/worker.ts', import.meta.url) },
	webhooks: { load: () => import('./webhooks'), worker: new URL('./webhooks/worker.ts', import.meta.url) },
}

/**
 * The process's own dependencies, handed as they are to inline roles (with a child logger); a
 * Worker builds its own. `metrics` is the main thread's registry: Workers keep their own.
 */
export interface RolesDeps extends RoleDeps {
	onWorkerEvent?(role: WorkerRole, event: SupervisorEvent): void
}

export interface RunningRoles {
	/** Roles started: `inline` on this thread or in a supervised `worker`. */
	readonly started: { role: WorkerRole; mode: 'inline' | 'worker' }[]
	/** Resolves when every role is ready (workers reported ready). */
	readonly ready: Promise<void>
	/** Stops every role: in-flight work drains, workers exit. */
	stop(): Promise<void>
	/** Each Worker's metrics registry, asked for now (inline roles record into the main registry). */
	metrics(timeoutMs?: number): Promise<WorkerMetrics[]>
	/** Roles whose Worker is not running now (starting, or crashed and waiting to restart). */
	down(): string[]
	/** The runners of the fleet, as their leases in Redis say (for /metrics, whatever roles run here); null without Redis. */
	readonly fleet: FleetSource | null
}

/**
 * Starts the runner, consumer and webhooks roles that `ROLES` asks for. With PostgreSQL and Redis each runs
 * in its own supervised Worker with its own connections. In embedded mode they run inline: PGlite
 * lives in this thread and the in-process bus cannot cross threads.
 */
export async function startRoles(deps: RolesDeps): Promise<RunningRoles> {
	const { config, logger, database, bus, redis } = deps
	const inWorkers = database.kind === 'postgres' && bus.kind === 'redis'
	const running: { role: WorkerRole; stop(): Promise<void> }[] = []
	const workers: SupervisedWorker[] = []
	const started: RunningRoles['started'] = []
	const fleet = redis && bus.kind === 'redis' ? fleetSource(redis, config) : null

	try {
		for (const role of ['consumer', 'webhooks', 'runner'] as const) {
			if (!config.roles.has(role)) continue
			const entry = ROLES[role]
			if (inWorkers) {
				const worker = superviseWorker({
					name: role,
					url: entry.worker,
					config,
					logger,
					onEvent: deps.onWorkerEvent && ((event) => deps.onWorkerEvent!(role, event)),
				})
				workers.push(worker)
				running.push({ role, stop: () => worker.stop() })
				started.push({ role, mode: 'worker' })
			} else {
				const mod = await entry.load()
				const handle: RoleHandle = await mod.start({ config, logger: logger.child({ role }), database, bus, redis, metrics: deps.metrics })
				running.push({ role, stop: () => handle.stop() })
				started.push({ role, mode: 'inline' })
			}
		}
	} catch (err) {
		await Promise.allSettled(running.map((r) => r.stop()))
		throw err
	}

	return {
		started,
		ready: Promise.all(workers.map((w) => w.ready)).then(() => {}),
		down: () => workers.filter((w) => !w.running).map((w) => w.name),
		fleet,
		metrics: (timeoutMs = 1_000) =>
			Promise.all(workers.map(async (w) => ({ role: w.name, metrics: await w.metrics(timeoutMs), restarts: w.restarts }))),
		async stop() {
			// Reverse start order: the consumer outlives the runner, so it persists the runner's last events.
			for (const r of [...running].reverse()) await r.stop()
			await fleet?.close()
		},
	}
}
