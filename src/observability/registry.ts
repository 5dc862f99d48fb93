import { monitorEventLoopDelay } from 'node:perf_hooks'
import { collectDefaultMetrics, Counter, Gauge, Registry, type MetricObjectWithValues, type MetricValue } from 'prom-client'

/** A registry's metrics as `getMetricsAsJSON()` gives them: what a Worker posts to the main thread. */
export type MetricsJson = MetricObjectWithValues<MetricValue<string>>[]

/** Every metric of this service starts with it. */
export const PREFIX = 'switchboard_'

export interface RegistryOptions {
	/** `main`, or the role of the Worker (`consumer`, `runner`): the `thread` label of per-thread gauges. */
	thread: string
	/**
	 * prom-client's default metrics (resident memory, CPU, file descriptors, the main event loop's
	 * lag). Only the main thread collects them: memory and CPU are per process, and a Worker would
	 * report the same process figures again.
	 */
	processMetrics: boolean
}

/**
 * One registry per thread (the main thread, each role Worker), never prom-client's global one:
 * tests build several apps in one process, and a second registration of a name in the global
 * registry throws.
 */
export function createMetricsRegistry({ thread, processMetrics }: RegistryOptions): Registry {
	const registry = new Registry()
	if (processMetrics) collectDefaultMetrics({ register: registry })
	// Bun shares one event-loop histogram per thread among monitors, and prom-client's default
	// metrics reset it at each scrape: a second monitor beside them would read an emptied one.
	threadMetrics(registry, thread, !processMetrics)
	return registry
}

/**
 * Event-loop delay and JS heap of one thread. A Worker's event loop is its own: a consumer stuck in
 * a long synchronous batch shows here and not in the main thread's lag.
 */
function threadMetrics(registry: Registry, thread: string, eventLoop: boolean) {
	new Gauge({
		name: `${PREFIX}heap_used_bytes`,
		help: "JavaScript heap in use by the thread's VM",
		labelNames: ['thread'],
		registers: [registry],
		collect() {
			this.set({ thread }, process.memoryUsage().heapUsed)
		},
	})
	if (!eventLoop) return
	const delay = monitorEventLoopDelay({ resolution: 10 })
	delay.enable()
	// Holds no handle open: a Worker still ends by itself once its connections close.
	new Gauge({
		name: `${PREFIX}event_loop_delay_p99_seconds`,
		help: 'Event-loop delay of a role Worker, 99th percentile since the previous scrape (the main thread: nodejs_eventloop_lag_p99_seconds)',
		labelNames: ['thread'],
		registers: [registry],
		collect() {
			this.set({ thread }, delay.count ? delay.percentile(99) / 1e9 : 0)
		},
	})
	new Gauge({
		name: `${PREFIX}event_loop_delay_max_seconds`,
		help: 'Longest event-loop delay of a role Worker since the previous scrape (the main thread: nodejs_eventloop_lag_max_seconds)',
		labelNames: ['thread'],
		registers: [registry],
		// Collected after the p99 gauge (registration order), so both read the same interval.
		collect() {
			this.set({ thread }, delay.count ? delay.max / 1e9 : 0)
			// Each scrape reports its own interval; a stall an hour ago should not read as current.
			delay.reset()
		},
	})
}

/**
 * A counter that mirrors a monotonic number kept elsewhere (a stats object), read at scrape time.
 * The source may restart from zero (a new hub, a restarted runner): the counter then resumes from
 * the new value instead of going backwards.
 */
export function mirroredCounter(registry: Registry, name: string, help: string, read: () => number | undefined) {
	let last = 0
	return new Counter({
		name,
		help,
		registers: [registry],
		collect() {
			const now = read()
			if (now === undefined) return
			this.inc(now >= last ? now - last : now)
			last = now
		},
	})
}

/**
 * A role started again on the same registry (an inline role restarted in one process) records
 * into the metrics its first start registered: a second registration of a name would throw.
 */
const memo = new WeakMap<Registry, Map<string, unknown>>()
export function once<T>(registry: Registry, key: string, create: () => T): T {
	let byKey = memo.get(registry)
	if (!byKey) memo.set(registry, (byKey = new Map()))
	if (!byKey.has(key)) byKey.set(key, create())
	return byKey.get(key) as T
}
