import { threadId } from 'node:worker_threads'
import type { Registry } from 'prom-client'
import type { Config } from '../config'
import { openPostgres } from '../db/client'
import { createBus } from '../bus'
import { createLogger } from '../logger'
import { createMetricsRegistry } from '../observability/registry'
import { closeRedis, openRedis } from '../redis/connection'
import type { FromWorker, ToWorker } from './supervisor'
import type { RoleModule, WorkerRole } from './types'

interface WorkerScope {
	postMessage(message: FromWorker): void
	addEventListener(type: 'message', listener: (event: MessageEvent<ToWorker>) => void): void
	removeEventListener(type: 'message', listener: (event: MessageEvent<ToWorker>) => void): void
}

export interface HostOptions {
	/** Postgres pool size of this worker (default 5). */
	poolSize?(config: Config): number
	/** End the thread once the role stopped and its connections closed, whatever timers a library left running. */
	exitWhenStopped?: boolean
}

/**
 * The body of a role's Worker entry file: waits for the supervisor's start message, builds the
 * worker's own connections (a Postgres pool, a Redis connection, a Redis bus), starts the role,
 * and on the stop message stops it and closes everything so the thread can end by itself.
 * Workers only run with Postgres and Redis; embedded mode runs roles inline.
 */
export function hostRole(role: WorkerRole | (string & {}), load: () => Promise<RoleModule>, options: HostOptions = {}) {
	const scope = globalThis as unknown as WorkerScope
	let stop: (() => Promise<void>) | null = null
	let starting: Promise<void> | null = null
	let metrics: Registry | undefined

	async function start(received: Config) {
		// Structured cloning turned the key Buffer into a plain Uint8Array.
		const config: Config = { ...received, encryptionKey: Buffer.from(received.encryptionKey) }
		if (!config.databaseUrl || !config.redisUrl) throw new Error(`the ${role} worker needs DATABASE_URL and REDIS_URL`)
		const logger = createLogger(config).child({ role, thread: threadId })
		const database = openPostgres({ url: config.databaseUrl, max: options.poolSize?.(config) ?? 5, applicationName: `switchboard-${role}` })
		const redis = openRedis(config.redisUrl, logger, role, { natMap: config.redisNatMap })
		const bus = createBus(config, logger, redis)
		// The main thread asks for this registry at each scrape and merges it into its /metrics.
		if (config.metricsEnabled) metrics = createMetricsRegistry({ thread: role, processMetrics: false })
		const close = async () => {
			await bus.close()
			await closeRedis(redis)
			await database.close()
		}
		try {
			const mod = await load()
			const handle = await mod.start({ config, logger, database, bus, redis, metrics })
			stop = async () => {
				try {
					await handle.stop()
				} finally {
					await close()
				}
			}
		} catch (err) {
			await close().catch(() => {})
			throw err
		}
	}

	const onMessage = async (event: MessageEvent<ToWorker>) => {
		const msg = event.data
		if (msg.type === 'metrics') {
			scope.postMessage({ type: 'metrics', id: msg.id, metrics: metrics ? await metrics.getMetricsAsJSON() : [] })
			return
		}
		if (msg.type === 'start') {
			try {
				starting = start(msg.config)
				await starting
				scope.postMessage({ type: 'ready' })
			} catch (err) {
				scope.postMessage({ type: 'failed', error: err instanceof Error ? (err.stack ?? err.message) : String(err) })
				process.exit(1)
			}
		} else if (msg.type === 'stop') {
			// With the listener gone and every connection closed, nothing keeps the thread alive.
			scope.removeEventListener('message', onMessage)
			try {
				// A stop can overtake a start still opening connections; those must close too.
				await starting?.catch(() => {})
				await stop?.()
			} finally {
				scope.postMessage({ type: 'stopped' })
				if (options.exitWhenStopped) process.exit(0)
			}
		}
	}
	scope.addEventListener('message', onMessage)
}
