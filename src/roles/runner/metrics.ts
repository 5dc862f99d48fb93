import { Counter, Gauge, Registry } from 'prom-client'
import { eventTypeLabel } from '../../observability/labels'
import { mirroredCounter, once, PREFIX } from '../../observability/registry'
import type { WhatsAppEvent } from '../../whatsapp/port'
import type { OwnershipStats } from './ownership'

type CountField = { [K in keyof OwnershipStats]: OwnershipStats[K] extends number ? K : never }[keyof OwnershipStats]

/**
 * What the runner records, in whatever thread it runs: its Worker's registry (the main thread
 * merges it into /metrics) or, inline in embedded mode, the main one. Without a registry (metrics
 * disabled) it records into one nobody reads.
 */

export interface RunnerMetrics {
	/** Called with every batch a session emits. */
	observe(sessionId: string, events: readonly WhatsAppEvent[]): void
	/** Exports an ownership's live `stats` (updated in place), read at scrape time. */
	watchOwnership(stats: OwnershipStats): void
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
	// A runner restarted on the same registry (inline, in one process) exports its own ownership.
	let watched: OwnershipStats | undefined
	let ownershipRegistered = false

	return {
		observe(sessionId, events) {
			for (const e of events) {
				emitted.inc({ type: eventTypeLabel(e.type) })
				if (e.type === 'session.status.disconnected') {
					const d = e.data
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
					const d = e.data
					historyBatches.inc()
					historyMessages.inc(d.messages.length)
					if (typeof d.progress === 'number') historyProgress.set(d.progress)
				}
			}
		},
		watchOwnership(stats) {
			watched = stats
			if (ownershipRegistered) return
			ownershipRegistered = true
			const read = (field: CountField) => () => watched?.[field]
			const gauge = (name: string, help: string, field: CountField) =>
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
			mirroredCounter(
				registry,
				`${PREFIX}lease_renewal_failures_total`,
				'Partition lease renewals that failed (Redis away, or the lease gone or taken)',
				read('renewalFailures'),
			)
			mirroredCounter(registry, `${PREFIX}partition_acquisitions_total`, 'Partition leases this runner acquired', read('acquired'))
			mirroredCounter(
				registry,
				`${PREFIX}partition_takeovers_total`,
				'Partition leases acquired after their previous holder let them expire (a dead runner)',
				read('takeovers'),
			)
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
