import { count, isNull, sql } from 'drizzle-orm'
import { Counter, Gauge, type Registry } from 'prom-client'
import type { Database } from '../db/client'
import { SESSION_STATUSES } from '../core/session-status'
import { outbox, sessions } from '../db/schema'
import { compareIds, type Bus } from '../bus'
import {
	commandStreams,
	CONSUMER_GROUP,
	deadLetterStream,
	DOMAIN_EVENTS,
	queryStreams,
	RUNNER_GROUP,
	SESSION_COMMANDS,
	SESSION_QUERIES,
	WEBHOOKS_GROUP,
} from '../core/streams'
import { withTimeout } from '../lib/timeout'
import { mirroredCounter, PREFIX, type MetricsJson } from './registry'

/** The WebSocket hub's counters, kept by the hub and read at scrape time. */
export interface RealtimeStats {
	/** Events fanned out since start. */
	published: number
	/** Open sockets that passed authentication. */
	connections: number
	/** Sockets closed with 1013 because they did not keep up. */
	slowConsumerCloses: number
	/** Sockets closed with 4429 because their tenant held as many as it may on this instance. */
	socketLimitCloses: number
}

/** What the runners' leases say of the fleet, fleet-wide. */
export interface FleetSource {
	read(): Promise<{ runners: number; unownedPartitions: number }>
}

export interface SystemSources {
	database: Database
	/** Null when this app has no bus (tests of the HTTP layer alone). */
	bus: Bus | null
	/** The WebSocket hub's counters, when this app serves WebSockets. */
	realtime: RealtimeStats | null
	/** The runners' leases (Redis); absent in embedded mode, where the runner is this process. */
	fleet?: FleetSource | null
	/** Time one source may take before the scrape goes on without it. */
	timeoutMs?: number
}

/** The metrics of one role Worker at scrape time; `metrics` is null when it did not answer in time. */
export interface WorkerMetrics {
	role: string
	metrics: MetricsJson | null
	/** Times the supervisor restarted the Worker after it died. */
	restarts: number
}

export interface SystemCollector {
	/** Reads Postgres and the streams now, so the gauges describe the moment of the scrape. */
	refresh(): Promise<void>
	/** Whether each role Worker answered this scrape, and how often it was restarted. */
	recordWorkers(workers: readonly WorkerMetrics[]): void
}

const msOf = (position: string) => Number(position.split('-')[0])

/**
 * Gauges read at scrape time, from the shared state every instance sees: sessions by status and
 * the outbox backlog (Postgres), stream lag, pending entries and dead letters (the bus). Every
 * instance reports the same figures; aggregate them with `max` rather than `sum`. Command
 * partitions are summed into one `session-commands` series, so the label stays bounded whatever
 * COMMAND_PARTITIONS is.
 */
export function systemMetrics(registry: Registry, sources: SystemSources): SystemCollector {
	const { database, bus, realtime, fleet } = sources
	const timeoutMs = sources.timeoutMs ?? 2_000
	const gauge = (name: string, help: string, labelNames: string[] = []) =>
		new Gauge({ name: `${PREFIX}${name}`, help, labelNames, registers: [registry] })

	const up = gauge(
		'metrics_source_up',
		'Whether the last scrape could read the source (1) or not (0): postgres, streams, runners (their leases), or a role Worker',
		['source'],
	)
	const sessionsByStatus = gauge('sessions', 'Sessions by status (deleted ones excluded)', ['status'])
	const outboxPending = gauge('outbox_pending', 'Outbox rows not yet published to their stream (backlog of the relay)')
	const outboxAge = gauge('outbox_oldest_pending_seconds', 'Age of the oldest unpublished outbox row (0 when none)')
	const streamLength = gauge('stream_entries', 'Entries retained in the stream', ['stream'])
	const pending = gauge('stream_group_pending', 'Entries delivered to the consumer group and not yet acknowledged', ['stream', 'group'])
	const lag = gauge(
		'stream_group_lag_seconds',
		'How long the oldest entry not yet delivered to the group has been waiting (0 when the group is caught up)',
		['stream', 'group'],
	)
	const oldestPending = gauge(
		'stream_group_oldest_pending_seconds',
		'Age of the oldest delivered-but-unacknowledged entry of the group (0 when none)',
		['stream', 'group'],
	)
	// With no runner alive nothing else says so: sessions keep the status their runner last reported.
	const runners = fleet
		? gauge('fleet_runners_live', 'Runners with a live heartbeat, fleet-wide, read from Redis by any process (a runner’s own view is runners_live)')
		: null
	const unowned = fleet
		? gauge(
				'fleet_partitions_unowned',
				'Command partitions no runner holds a lease on: their sessions are offline and their commands wait (briefly above 0 while partitions change hands)',
			)
		: null
	const dead = gauge('stream_dead_letters', 'Entries in the dead-letter stream of the stream (failed too often, or never parsed)', ['stream'])

	const restarts = new Counter({
		name: `${PREFIX}worker_restarts_total`,
		help: 'Role Workers restarted by their supervisor after an unexpected exit',
		labelNames: ['role'],
		registers: [registry],
	})
	const restartsSeen = new Map<string, number>()

	if (realtime) {
		new Gauge({
			name: `${PREFIX}websocket_connections`,
			help: 'Open authenticated WebSockets (/ws/sessions) of this instance',
			registers: [registry],
			collect() {
				this.set(realtime.connections)
			},
		})
		mirroredCounter(
			registry,
			`${PREFIX}websocket_events_published_total`,
			'Domain events fanned out to WebSocket topics by this instance',
			() => realtime.published,
		)
		mirroredCounter(
			registry,
			`${PREFIX}websocket_slow_consumer_closes_total`,
			'WebSockets closed with 1013 for not keeping up',
			() => realtime.slowConsumerCloses,
		)
		mirroredCounter(
			registry,
			`${PREFIX}websocket_socket_limit_closes_total`,
			'WebSockets closed with 4429 because their tenant held WS_MAX_SOCKETS_PER_TENANT on this instance',
			() => realtime.socketLimitCloses,
		)
	}

	async function readPostgres() {
		const [byStatus, [backlog]] = await Promise.all([
			database.db.select({ status: sessions.status, n: count() }).from(sessions).where(isNull(sessions.deletedAt)).groupBy(sessions.status),
			database.db
				.select({ n: count(), oldest: sql<string | null>`extract(epoch from now() - min(${outbox.createdAt}))` })
				.from(outbox)
				.where(isNull(outbox.publishedAt)),
		])
		const counts = new Map(byStatus.map((r) => [r.status, Number(r.n)]))
		for (const status of SESSION_STATUSES) sessionsByStatus.set({ status }, counts.get(status) ?? 0)
		outboxPending.set(Number(backlog?.n ?? 0))
		outboxAge.set(Math.max(0, Number(backlog?.oldest ?? 0)))
	}

	/**
	 * One group on one or more streams (the command partitions), as one series. `optional`: a group
	 * only some deployments have (webhooks) gets no series until it exists, rather than a lag that
	 * counts every event as waiting for a reader nobody runs.
	 */
	async function readGroup(b: Bus, label: string, streams: readonly string[], group: string, optional = false) {
		if (optional && !(await b.groupProgress(streams[0]!, group, { count: 1 }))) return
		const now = Date.now()
		const per = await Promise.all(
			streams.map(async (stream) => {
				const [info, progress, deadInfo] = await Promise.all([
					b.info(stream),
					b.groupProgress(stream, group, { count: 1 }),
					b.info(deadLetterStream(stream)),
				])
				// A group not created yet has been delivered nothing: everything in the stream waits.
				const delivered = progress?.lastDeliveredId ?? '0-0'
				let waitingSince: number | null = null
				if (info.lastId && compareIds(info.lastId, delivered) > 0) {
					const [next] = await b.read(stream, { after: delivered, count: 1 })
					if (next) waitingSince = msOf(next.id)
				}
				const oldest = progress?.pending[0]
				return {
					length: info.length,
					pending: progress?.pendingCount ?? 0,
					waitingSince,
					oldestPending: oldest ? msOf(oldest) : null,
					dead: deadInfo.length,
				}
			}),
		)
		const age = (since: number | null) => (since === null ? 0 : Math.max(0, now - since) / 1000)
		const sum = (f: (p: (typeof per)[number]) => number) => per.reduce((acc, p) => acc + f(p), 0)
		const max = (f: (p: (typeof per)[number]) => number) => per.reduce((acc, p) => Math.max(acc, f(p)), 0)
		streamLength.set(
			{ stream: label },
			sum((p) => p.length),
		)
		pending.set(
			{ stream: label, group },
			sum((p) => p.pending),
		)
		lag.set(
			{ stream: label, group },
			max((p) => age(p.waitingSince)),
		)
		oldestPending.set(
			{ stream: label, group },
			max((p) => age(p.oldestPending)),
		)
		dead.set(
			{ stream: label },
			sum((p) => p.dead),
		)
	}

	async function readStreams(b: Bus) {
		await Promise.all([
			readGroup(b, DOMAIN_EVENTS, [DOMAIN_EVENTS], CONSUMER_GROUP),
			readGroup(b, DOMAIN_EVENTS, [DOMAIN_EVENTS], WEBHOOKS_GROUP, true),
			readGroup(b, SESSION_COMMANDS, commandStreams(b.partitions), RUNNER_GROUP),
			readGroup(b, SESSION_QUERIES, queryStreams(b.partitions), RUNNER_GROUP),
		])
	}

	async function readFleet(f: FleetSource) {
		const read = await f.read()
		runners?.set(read.runners)
		unowned?.set(read.unownedPartitions)
	}

	const attempt = async (source: string, read: () => Promise<void>) => {
		try {
			await withTimeout(read(), timeoutMs, `reading ${source} for /metrics`)
			up.set({ source }, 1)
		} catch {
			up.set({ source }, 0)
		}
	}

	return {
		async refresh() {
			await Promise.all([
				attempt('postgres', readPostgres),
				bus ? attempt('streams', () => readStreams(bus)) : Promise.resolve(),
				fleet ? attempt('runners', () => readFleet(fleet)) : Promise.resolve(),
			])
		},
		recordWorkers(workers) {
			for (const w of workers) {
				up.set({ source: w.role }, w.metrics ? 1 : 0)
				const seen = restartsSeen.get(w.role) ?? 0
				restarts.inc({ role: w.role }, Math.max(0, w.restarts - seen))
				restartsSeen.set(w.role, Math.max(seen, w.restarts))
			}
		},
	}
}
