import { Counter, Gauge, Histogram, Registry } from 'prom-client'
import { once, PREFIX } from '../../observability/registry'
import type { SendOutcome } from './sender'

/**
 * What the webhooks role records. No label names a tenant or an endpoint: endpoints are created
 * by tenants without limit, and a label per endpoint would grow the series (and the scrape) with
 * every one of them. The backlog is therefore a distribution over endpoints (how many have waited
 * how long), plus the worst one; GET /webhooks/:id/deliveries shows one endpoint's own backlog.
 */
export interface WebhookMetrics {
	/** One finished attempt: its outcome class and latency. */
	attempt(outcome: Pick<SendOutcome, 'kind' | 'latencyMs'>): void
	/** A delivery's fate after an attempt: `delivered`, `retrying`, `failed` (given up). */
	delivery(result: 'delivered' | 'retrying' | 'failed', count?: number): void
	/** Endpoints disabled by the dispatcher (410, or failing too long). */
	disabled(count: number): void
	/** Deliveries a dispatcher took to send: handed over with their `stream` event, or by a `claim`. */
	taken(source: 'stream' | 'claim', count: number): void
	/** A lane gave its slot up at the end of its turn, to another endpoint waiting for one (see SlotShare). */
	gaveUp(): void
}

const AGE_BUCKETS = [10, 60, 300, 1800, 3600, 6 * 3600, 24 * 3600] as const

export function webhookMetrics(registry: Registry = new Registry(), backlog?: () => Promise<number[]>): WebhookMetrics {
	return once(registry, 'webhooks', () => createWebhookMetrics(registry, backlog))
}

function createWebhookMetrics(registry: Registry, backlog?: () => Promise<number[]>): WebhookMetrics {
	const deliveries = new Counter({
		name: `${PREFIX}webhook_deliveries_total`,
		help: 'Webhook deliveries after each attempt, by result: delivered, retrying (a retry is scheduled), failed (retries spent)',
		labelNames: ['result'],
		registers: [registry],
	})
	const attempts = new Histogram({
		name: `${PREFIX}webhook_attempt_duration_seconds`,
		help: 'One webhook attempt, DNS to response headers, by outcome (2xx…5xx, timeout, refused, network)',
		labelNames: ['outcome'],
		buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 15],
		registers: [registry],
	})
	const disabled = new Counter({
		name: `${PREFIX}webhook_endpoints_disabled_total`,
		help: 'Endpoints the dispatcher disabled (the receiver answered 410, or failed for WEBHOOK_DISABLE_AFTER_SECONDS)',
		registers: [registry],
	})
	const taken = new Counter({
		name: `${PREFIX}webhook_deliveries_taken_total`,
		help: "Deliveries a dispatcher took to send, by source: stream (handed over as their event was recorded), claim (found waiting in Postgres: retries, rows recorded while their lane was busy, a dead dispatcher's rows)",
		labelNames: ['source'],
		registers: [registry],
	})
	const gaveUp = new Counter({
		name: `${PREFIX}webhook_slots_given_up_total`,
		help: 'Sending slots a session of an endpoint holding more than its share gave up after its turn, because another endpoint waited for one',
		registers: [registry],
	})
	for (const result of ['delivered', 'retrying', 'failed']) deliveries.inc({ result }, 0)
	for (const source of ['stream', 'claim']) taken.inc({ source }, 0)
	if (backlog) {
		new Gauge({
			name: `${PREFIX}webhook_backlog_endpoints`,
			help: 'Enabled endpoints whose oldest pending delivery is at least `older_than_seconds` old (one count per endpoint, no endpoint label)',
			labelNames: ['older_than_seconds'],
			registers: [registry],
			async collect() {
				const ages = await backlog()
				for (const bucket of [0, ...AGE_BUCKETS]) this.set({ older_than_seconds: String(bucket) }, ages.filter((a) => a >= bucket).length)
			},
		})
		new Gauge({
			name: `${PREFIX}webhook_backlog_oldest_seconds`,
			help: 'Age of the oldest pending delivery of any enabled endpoint (0 without backlog)',
			registers: [registry],
			async collect() {
				this.set(Math.max(0, ...(await backlog())))
			},
		})
	}
	return {
		attempt({ kind, latencyMs }) {
			attempts.observe({ outcome: kind }, latencyMs / 1000)
		},
		delivery(result, count = 1) {
			deliveries.inc({ result }, count)
		},
		disabled(count) {
			if (count) disabled.inc(count)
		},
		taken(source, count) {
			if (count) taken.inc({ source }, count)
		},
		gaveUp() {
			gaveUp.inc()
		},
	}
}
