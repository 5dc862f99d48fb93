import { Counter, Gauge, Histogram, Registry } from 'prom-client'
import { DOMAIN_EVENT_TYPES } from '../../events/catalogue'
import type { ProjectionStats } from '../../roles/projection'
import { mirroredCounter, PREFIX } from './registry'

/**
 * Metrics the runner and consumer roles record, in whatever thread they run: their Worker's
 * registry (the main thread merges it into /metrics) or, inline in embedded mode, the main one.
 * Without a registry (metrics disabled) they record into one nobody reads.
 *
 * Labels are bounded: event types come from the catalogue, disconnect reasons and codes from the
 * WhatsApp driver's classification. No tenant, session or user value ever becomes a label.
 */

/**
 * A role started again on the same registry (an inline role restarted in one process) records
 * into the metrics its first start registered: a second registration of a name would throw.
 */
const memo = new WeakMap<Registry, Map<string, unknown>>()
function once<T>(registry: Registry, key: string, create: () => T): T {
	let byKey = memo.get(registry)
	if (!byKey) memo.set(registry, (byKey = new Map()))
	if (!byKey.has(key)) byKey.set(key, create())
	return byKey.get(key) as T
}

const KNOWN_EVENT_TYPES = new Set<string>(DOMAIN_EVENT_TYPES)
const eventType = (type: string) => (KNOWN_EVENT_TYPES.has(type) ? type : 'other')

// ── consumer ─────────────────────────────────────────────────────────────────────────────────

export interface ConsumerMetrics {
	/** Runs one projection batch, timing it and counting what it applied (or that it failed). */
	batch(events: readonly { type: string }[], apply: () => Promise<ProjectionStats>): Promise<ProjectionStats>
}

const ROW_TABLES = { messages: 'session_messages', chats: 'session_chats', contacts: 'session_contacts', mappings: 'session_lid_mappings', sessionUpdates: 'sessions' } as const

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
	for (const type of DOMAIN_EVENT_TYPES) events.inc({ type }, 0)
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
			for (const e of list) byType.set(eventType(e.type), (byType.get(eventType(e.type)) ?? 0) + 1)
			for (const [type, n] of byType) events.inc({ type }, n)
			if (stats.dropped) dropped.inc(stats.dropped)
			for (const [key, table] of Object.entries(ROW_TABLES)) {
				const n = stats[key as keyof typeof ROW_TABLES]
				if (n) rows.inc({ table }, n)
			}
			return stats
		},
	}
}

// ── runner ───────────────────────────────────────────────────────────────────────────────────

/** What a session emits, as the runner sees it before wrapping it in an envelope. */
interface EmittedEvent {
	type: string
	data: unknown
}

/**
 * What /metrics reads from a partition ownership (roles/runner-ownership.ts `OwnershipStats`,
 * issue 9's leases): the runner hands its ownership to `watchOwnership`, and the object's `stats`
 * is read at scrape time. Declared here as far as it is read, every field optional, so the metrics
 * follow whatever the ownership keeps without importing it.
 */
export interface OwnershipStats {
	owned?: number
	liveRunners?: number
	fairShare?: number
	renewals?: number
	renewalFailures?: number
	acquired?: number
	takeovers?: number
	handedOver?: number
	lost?: number
	selfFenced?: number
}

export interface RunnerMetrics {
	/** Called with every batch a session emits. */
	observe(sessionId: string, events: readonly EmittedEvent[]): void
	/** Exports the ownership's `stats` (OwnershipStats), if it keeps any. */
	watchOwnership(ownership: object): void
}

const REASON = /^[a-z][a-z0-9_]{0,47}$/
const reasonLabel = (reason: unknown) => (typeof reason === 'string' && REASON.test(reason) ? reason : 'other')
const codeLabel = (code: unknown) => (typeof code === 'number' && Number.isInteger(code) && code >= 0 && code < 10_000 ? String(code) : 'none')

export function runnerMetrics(registry: Registry = new Registry()): RunnerMetrics {
	return once(registry, 'runner', () => createRunnerMetrics(registry))
}

function createRunnerMetrics(registry: Registry): RunnerMetrics {
	const emitted = new Counter({
		name: `${PREFIX}runner_events_total`,
		help: 'Events the WhatsApp sessions of this runner emitted, by type',
		labelNames: ['type'],
		registers: [registry],
	})
	const disconnects = new Counter({
		name: `${PREFIX}whatsapp_disconnects_total`,
		help: 'WhatsApp socket closes, by the status the session went to, the reason and the WhatsApp/WebSocket code ("none" without one)',
		labelNames: ['status', 'reason', 'code'],
		registers: [registry],
	})
	const reconnects = new Counter({
		name: `${PREFIX}whatsapp_reconnects_total`,
		help: 'Sessions connected again after a transient disconnect, by the reason of that disconnect',
		labelNames: ['reason'],
		registers: [registry],
	})
	const historyMessages = new Counter({
		name: `${PREFIX}history_sync_messages_total`,
		help: 'Messages received through WhatsApp history sync',
		registers: [registry],
	})
	const historyBatches = new Counter({
		name: `${PREFIX}history_sync_batches_total`,
		help: 'History sync batches published (a WhatsApp chunk is split into batches of at most 500 messages)',
		registers: [registry],
	})
	const historyProgress = new Gauge({
		name: `${PREFIX}history_sync_progress_percent`,
		help: 'Progress (0-100) WhatsApp reported with the latest history sync chunk of any session',
		registers: [registry],
	})
	// Sessions whose last disconnect was transient, with its reason: the next `connected` is a reconnect.
	const reconnecting = new Map<string, string>()
	let watched: { stats?: OwnershipStats } | undefined
	let ownershipRegistered = false

	return {
		observe(sessionId, events) {
			for (const e of events) {
				emitted.inc({ type: eventType(e.type) })
				if (e.type === 'session.status.disconnected') {
					const d = e.data as { status?: string; reason?: unknown; code?: unknown }
					const reason = reasonLabel(d.reason)
					disconnects.inc({ status: reasonLabel(d.status), reason, code: codeLabel(d.code) })
					if (d.status === 'reconnecting') reconnecting.set(sessionId, reason)
					else reconnecting.delete(sessionId)
				} else if (e.type === 'session.status.connected') {
					const after = reconnecting.get(sessionId)
					if (after !== undefined) {
						reconnects.inc({ reason: after })
						reconnecting.delete(sessionId)
					}
				} else if (e.type === 'session.history.sync') {
					const d = e.data as { messages?: unknown[]; progress?: number | null }
					historyBatches.inc()
					historyMessages.inc(d.messages?.length ?? 0)
					if (typeof d.progress === 'number') historyProgress.set(d.progress)
				}
			}
		},
		watchOwnership(ownership) {
			watched = ownership as { stats?: OwnershipStats }
			if (!watched.stats || ownershipRegistered) return
			ownershipRegistered = true
			const read = (field: keyof OwnershipStats) => () => watched?.stats?.[field]
			const gauge = (name: string, help: string, field: keyof OwnershipStats) =>
				new Gauge({
					name: `${PREFIX}${name}`,
					help,
					registers: [registry],
					collect() {
						this.set(read(field)() ?? 0)
					},
				})
			gauge('partitions_owned', 'Command partitions this runner holds a lease on', 'owned')
			gauge('partitions_fair_share', 'Partitions this runner aims to hold (P / live runners)', 'fairShare')
			gauge('runners_live', 'Runners with a live heartbeat, as this runner last saw them', 'liveRunners')
			mirroredCounter(registry, `${PREFIX}lease_renewals_total`, 'Partition lease renewals that succeeded', read('renewals'))
			mirroredCounter(registry, `${PREFIX}lease_renewal_failures_total`, 'Partition lease renewals that failed (Redis away, or the lease gone or taken)', read('renewalFailures'))
			mirroredCounter(registry, `${PREFIX}partition_acquisitions_total`, 'Partition leases this runner acquired', read('acquired'))
			mirroredCounter(registry, `${PREFIX}partition_takeovers_total`, 'Partition leases acquired after their previous holder let them expire (a dead runner)', read('takeovers'))
			const releases = { handed_over: read('handedOver'), lost: read('lost'), self_fenced: read('selfFenced') }
			const last = new Map<string, number>()
			new Counter({
				name: `${PREFIX}partition_releases_total`,
				help: 'Partitions this runner gave up: handed over, found lost at renewal, or dropped when renewals kept failing',
				labelNames: ['how'],
				registers: [registry],
				collect() {
					for (const [how, get] of Object.entries(releases)) {
						const now = get()
						if (now === undefined) continue
						const before = last.get(how) ?? 0
						this.inc({ how }, now >= before ? now - before : now)
						last.set(how, now)
					}
				},
			})
		},
	}
}
