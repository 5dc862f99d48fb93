import type { Config } from '../config'
import { withTimeout } from '../lib/timeout'
import type { Logger } from '../logger'
import type { MetricsJson } from '../observability/registry'

/** Main thread → worker. */
export type ToWorker = { type: 'start'; config: Config } | { type: 'stop' } | { type: 'metrics'; id: number }
/** Worker → main thread. */
export type FromWorker =
	| { type: 'ready' }
	| { type: 'stopped' }
	| { type: 'failed'; error: string }
	| { type: 'metrics'; id: number; metrics: MetricsJson }

export type SupervisorEvent =
	| { type: 'ready'; generation: number }
	| { type: 'exit'; generation: number; code: number; expected: boolean }
	| { type: 'restart'; generation: number; delayMs: number }

export interface SupervisorOptions {
	/** Role name, for logs. */
	name: string
	/** The Worker entry file (`src/roles/<role>.worker.ts`). */
	url: URL
	config: Config
	logger: Logger
	/** First restart delay, doubled per consecutive crash up to `maxRestartDelayMs`. */
	restartDelayMs?: number
	maxRestartDelayMs?: number
	/** How long a worker may take to drain after the stop message before it is terminated. */
	stopTimeoutMs?: number
	onEvent?(event: SupervisorEvent): void
}

export interface SupervisedWorker {
	readonly name: string
	/** Restarts after unexpected exits so far. */
	readonly restarts: number
	/** Whether a worker runs now and has reported ready: false while it starts, and between a crash and its restart. */
	readonly running: boolean
	/** Resolves when the first worker reported ready. */
	readonly ready: Promise<void>
	/** Sends the stop message, waits for the worker to drain and exit; terminates it after the timeout. */
	stop(): Promise<void>
	/** The worker's metrics registry as JSON; null when it is not running or does not answer within `timeoutMs`. */
	metrics(timeoutMs: number): Promise<MetricsJson | null>
}

/** A worker that ran this long before crashing is considered healthy again: the backoff resets. */
const STABLE_AFTER_MS = 60_000

/**
 * Runs a role in a Bun Worker and keeps it running: a worker that exits without being asked to
 * (uncaught error, failed start, `process.exit`) is started again after a backoff, and every exit
 * is logged. Stopping is cooperative — the worker gets a stop message, drains, closes its
 * connections and exits by itself (an open Redis socket would otherwise keep the process alive);
 * `terminate()` is only the fallback after `stopTimeoutMs`.
 */
export function superviseWorker(options: SupervisorOptions): SupervisedWorker {
	const { name, url, config, onEvent } = options
	const log = options.logger.child({ role: name })
	const initialDelay = options.restartDelayMs ?? 500
	const maxDelay = options.maxRestartDelayMs ?? 30_000
	const stopTimeoutMs = options.stopTimeoutMs ?? config.shutdownTimeoutMs

	let worker: Worker | null = null
	let exited: Promise<void> = Promise.resolve()
	let generation = 0
	let restarts = 0
	let consecutiveCrashes = 0
	let running = false
	let stopping = false
	let restartTimer: Timer | undefined
	let firstReady!: () => void
	let metricsRequests = 0
	const metricsWaiting = new Map<number, (metrics: MetricsJson | null) => void>()
	const ready = new Promise<void>((resolve) => (firstReady = resolve))

	function spawn() {
		const gen = ++generation
		const startedAt = Date.now()
		const w = new Worker(url, { name: `switchboard-${name}` })
		worker = w
		let resolveExit!: () => void
		exited = new Promise((resolve) => (resolveExit = resolve))
		w.addEventListener('message', (event: MessageEvent<FromWorker>) => {
			const msg = event.data
			if (msg.type === 'ready') {
				running = true
				log.info({ generation: gen }, 'worker ready')
				firstReady()
				onEvent?.({ type: 'ready', generation: gen })
			} else if (msg.type === 'failed') log.error({ generation: gen, error: msg.error }, 'worker failed to start')
			else if (msg.type === 'metrics') metricsWaiting.get(msg.id)?.(msg.metrics)
		})
		w.addEventListener('error', (event) => {
			log.error({ generation: gen, err: (event as ErrorEvent).message }, 'uncaught error in worker')
		})
		w.addEventListener('close', (event) => {
			const code = (event as CloseEvent).code
			worker = null
			running = false
			resolveExit()
			onEvent?.({ type: 'exit', generation: gen, code, expected: stopping })
			if (stopping) {
				log.info({ generation: gen, code }, 'worker stopped')
				return
			}
			consecutiveCrashes = Date.now() - startedAt > STABLE_AFTER_MS ? 1 : consecutiveCrashes + 1
			const delayMs = Math.min(initialDelay * 2 ** (consecutiveCrashes - 1), maxDelay)
			restarts++
			log.error({ generation: gen, code, restartInMs: delayMs, restarts }, 'worker exited unexpectedly; restarting')
			onEvent?.({ type: 'restart', generation: gen, delayMs })
			restartTimer = setTimeout(spawn, delayMs)
		})
		w.postMessage({ type: 'start', config } satisfies ToWorker)
	}

	spawn()

	let stopped: Promise<void> | undefined
	return {
		name,
		get restarts() {
			return restarts
		},
		get running() {
			return running
		},
		ready,
		metrics(timeoutMs) {
			const w = worker
			if (!w) return Promise.resolve(null)
			const id = ++metricsRequests
			return new Promise((resolve) => {
				const timer = setTimeout(() => answer(null), timeoutMs)
				const answer = (metrics: MetricsJson | null) => {
					clearTimeout(timer)
					metricsWaiting.delete(id)
					resolve(metrics)
				}
				metricsWaiting.set(id, answer)
				w.postMessage({ type: 'metrics', id } satisfies ToWorker)
			})
		},
		stop() {
			stopped ??= (async () => {
				stopping = true
				clearTimeout(restartTimer)
				const w = worker
				if (!w) return
				w.postMessage({ type: 'stop' } satisfies ToWorker)
				const timedOut = await withTimeout(exited, stopTimeoutMs, 'worker stop').then(
					() => false,
					() => true,
				)
				if (timedOut) {
					log.warn({ stopTimeoutMs }, 'worker did not stop in time; terminating it')
					w.terminate()
					await exited
				}
			})()
			return stopped
		},
	}
}
