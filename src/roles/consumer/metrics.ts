import { Counter, Histogram, Registry } from 'prom-client'
import { DOMAIN_EVENT_TYPES } from '../../core/catalogue'
import type { ProjectionStats } from '../../db/projection'
import { eventTypeLabel } from '../../observability/labels'
import { once, PREFIX } from '../../observability/registry'

/**
 * What the consumer records, in whatever thread it runs: its Worker's registry (the main thread
 * merges it into /metrics) or, inline in embedded mode, the main one. Without a registry (metrics
 * disabled) it records into one nobody reads.
 */
export interface ConsumerMetrics {
	/** Runs one projection batch, timing it and counting what it applied (or that it failed). */
	batch(events: readonly { type: string }[], apply: () => Promise<ProjectionStats>): Promise<ProjectionStats>
	/** Sessions the lost-runner watch told `runner_lost`, by the status they now read. */
	runnerLost(status: 'reconnecting' | 'stopped', sessions: number): void
}

const ROW_TABLES = {
	messages: 'session_messages',
	chats: 'session_chats',
	contacts: 'session_contacts',
	mappings: 'session_lid_mappings',
	sessionUpdates: 'sessions',
} as const

export function consumerMetrics(registry: Registry = new Registry()): ConsumerMetrics {
	return once(registry, 'consumer', () => createConsumerMetrics(registry))
}

function createConsumerMetrics(registry: Registry): ConsumerMetrics {
	const events = new Counter({
		name: `${PREFIX}consumer_events_total`,
		help: 'Domain events the consumer applied to Postgres, by type (throughput of the event consumer)',
		labelNames: ['type'],
		registers: [registry],
	})
	const dropped = new Counter({
		name: `${PREFIX}consumer_dropped_events_total`,
		help: 'Events applied as no-ops because their session no longer exists',
		registers: [registry],
	})
	const rows = new Counter({
		name: `${PREFIX}consumer_rows_total`,
		help: 'Rows the consumer upserted, by table',
		labelNames: ['table'],
		registers: [registry],
	})
	const batches = new Counter({
		name: `${PREFIX}consumer_batches_total`,
		help: 'Consumer batches (one transaction each), by outcome',
		labelNames: ['outcome'],
		registers: [registry],
	})
	const duration = new Histogram({
		name: `${PREFIX}consumer_batch_duration_seconds`,
		help: 'Time to apply one batch of domain events',
		buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
		registers: [registry],
	})
	const lost = new Counter({
		name: `${PREFIX}runner_lost_sessions_total`,
		help: 'Sessions found without a runner (their partition free for RUNNER_LOST_AFTER_MS) and told runner_lost, by the status they now read',
		labelNames: ['status'],
		registers: [registry],
	})
	for (const type of DOMAIN_EVENT_TYPES) events.inc({ type }, 0)
	for (const status of ['reconnecting', 'stopped']) lost.inc({ status }, 0)
	for (const table of Object.values(ROW_TABLES)) rows.inc({ table }, 0)
	for (const outcome of ['ok', 'failed']) batches.inc({ outcome }, 0)

	return {
		async batch(list, apply) {
			const end = duration.startTimer()
			let stats: ProjectionStats
			try {
				stats = await apply()
			} catch (err) {
				batches.inc({ outcome: 'failed' })
				throw err
			} finally {
				end()
			}
			batches.inc({ outcome: 'ok' })
			const byType = new Map<string, number>()
			for (const e of list) byType.set(eventTypeLabel(e.type), (byType.get(eventTypeLabel(e.type)) ?? 0) + 1)
			for (const [type, n] of byType) events.inc({ type }, n)
			if (stats.dropped) dropped.inc(stats.dropped)
			for (const [key, table] of Object.entries(ROW_TABLES)) {
				const n = stats[key as keyof typeof ROW_TABLES]
				if (n) rows.inc({ table }, n)
			}
			return stats
		},
		runnerLost(status, sessions) {
			if (sessions) lost.inc({ status }, sessions)
		},
	}
}
