import { createHash, timingSafeEqual } from 'node:crypto'
import { Elysia, t } from 'elysia'
import { AggregatorRegistry, type Registry } from 'prom-client'
import type { Database } from '../db/client'
import type { Bus } from '../bus'
import { errorBody } from './errors'
import { errorModel } from './error-model'
import { httpMetrics } from './http-metrics'
import { createMetricsRegistry } from '../observability/registry'
import { type FleetSource, systemMetrics, type RealtimeStats, type WorkerMetrics } from '../observability/system'

export interface MetricsDeps {
	/** METRICS_ENABLED, METRICS_TOKEN */
	config: { metricsEnabled: boolean; metricsToken: string | undefined }
	/** This thread's registry; the server passes the one its inline roles record into. Default: a new one. */
	registry?: Registry
	database: Database
	bus: Bus | null
	realtime: RealtimeStats | null
	/** The role Workers' registries, asked for at each scrape. */
	workers?: () => Promise<WorkerMetrics[]>
	/** The runners' leases, read at each scrape (with Redis). */
	fleet?: FleetSource | null
}

const sha256 = (s: string) => createHash('sha256').update(s).digest()

/**
 * `GET /metrics` in the Prometheus text format, plus the HTTP instrumentation every route gets.
 * Disabled (METRICS_ENABLED=false) it adds nothing, and /metrics answers 404 like any unknown path.
 *
 * One scrape = this thread's registry (HTTP, WebSockets, process, inline roles) + a fresh read of
 * Postgres and the streams + every role Worker's registry, posted back on request. The Workers'
 * metric names are their own (consumer_*, runner_*, whatsapp_*, …), and per-thread gauges carry a
 * `thread` label, so merging them adds nothing up that should stay apart.
 */
export function metricsPlugin(deps: MetricsDeps) {
	const plugin = new Elysia({ name: 'metrics' })
	if (!deps.config.metricsEnabled) return plugin
	const registry = deps.registry ?? createMetricsRegistry({ thread: 'main', processMetrics: true })
	const system = systemMetrics(registry, { database: deps.database, bus: deps.bus, realtime: deps.realtime, fleet: deps.fleet })
	// Compared as digests: equal lengths for timingSafeEqual, and no early exit that times the prefix.
	const expected = deps.config.metricsToken ? sha256(deps.config.metricsToken) : null
	const authorized = (header: string | undefined) => {
		if (!expected) return true
		const match = /^Bearer (.+)$/.exec(header ?? '')
		return !!match && timingSafeEqual(sha256(match[1]!), expected)
	}

	async function scrape(): Promise<string> {
		const [, workers] = await Promise.all([system.refresh(), deps.workers?.() ?? []])
		system.recordWorkers(workers)
		const own = await registry.getMetricsAsJSON()
		const answered = workers.flatMap((w) => (w.metrics ? [w.metrics] : []))
		if (!answered.length) return registry.metrics()
		return AggregatorRegistry.aggregate([own, ...answered]).metrics()
	}

	return plugin
		.use(errorModel)
		.use(httpMetrics(registry))
		.get(
			'/metrics',
			async ({ headers, set, status }) => {
				if (!authorized(headers.authorization)) {
					set.headers['www-authenticate'] = 'Bearer'
					return status(401, errorBody('UNAUTHORIZED', 'A valid metrics token is required (Authorization: Bearer <METRICS_TOKEN>)'))
				}
				set.headers['content-type'] = registry.contentType
				set.headers['cache-control'] = 'no-store'
				return scrape()
			},
			{
				response: { 200: t.String(), 401: 'Error' },
				detail: {
					summary: 'Prometheus metrics',
					description: 'Prometheus text format. Served when METRICS_ENABLED; with METRICS_TOKEN set it requires `Authorization: Bearer <token>`.',
					tags: ['metrics'],
				},
			},
		)
}
