import { hostname } from 'node:os'
import { compareIds, type Bus } from '../../bus/bus'
import type { WebhooksConfig } from '../../config'
import { DOMAIN_EVENTS, WEBHOOKS_GROUP } from '../../core/streams'
import { retryAfterMs, retryDelayMs, secretAad, splitPosition } from '../../core/webhooks'
import type { Db } from '../../db/client'
import { createCipher } from '../../lib/crypto'
import type { Resolver } from '../../lib/addresses'
import type { Logger } from '../../logger'
import type { WebhookMetrics } from './metrics'
import { sendSigned, type SendOutcome } from './sender'
import { type AttemptResult, type ClaimedDelivery, claimDue, recordAttempts, type Watermark } from './store'

export interface DispatcherDeps {
	db: Db
	bus: Bus
	config: WebhooksConfig
	encryptionKey: Buffer
	logger: Logger
	metrics: WebhookMetrics
	/** Replaces DNS (tests). */
	resolve?: Resolver
}

export interface Dispatcher {
	/** Looks for due deliveries now (new ones were just recorded). */
	wake(): void
	/** Stops claiming, lets the requests in flight finish and records them. */
	stop(): Promise<void>
}

/**
 * How far deliveries may go: up to the oldest domain event the webhooks group has not acknowledged
 * (its deliveries may not be recorded yet, and a later event of the same session must not overtake
 * it), or everything the group has read when nothing is pending.
 */
async function watermark(bus: Bus): Promise<Watermark> {
	const progress = await bus.groupProgress(DOMAIN_EVENTS, WEBHOOKS_GROUP, { count: 1 })
	if (!progress) return { ms: 0, seq: 0, strict: true }
	const oldest = progress.pending[0]
	const bound = oldest && compareIds(oldest, progress.lastDeliveredId) <= 0 ? oldest : progress.lastDeliveredId
	return { ...splitPosition(bound), strict: bound === oldest }
}

/** What an attempt's outcome makes of its delivery. */
export function settle(delivery: ClaimedDelivery, outcome: SendOutcome, schedule: readonly number[], now = Date.now()): AttemptResult {
	const base = {
		id: delivery.id,
		endpointId: delivery.endpointId,
		statusCode: outcome.status,
		latencyMs: outcome.latencyMs,
		error: outcome.error,
		gone: false,
	}
	if (outcome.kind === '2xx') return { ...base, state: 'delivered', nextAttemptAt: null }
	// 410: the receiver says it is gone for good. The endpoint is disabled and this delivery waits,
	// pending, for it to be enabled again.
	if (outcome.status === 410) return { ...base, state: 'pending', nextAttemptAt: now, gone: true }
	const told = outcome.status === 429 || outcome.status === 503 ? retryAfterMs(outcome.retryAfter, now) : null
	const delay = retryDelayMs(schedule, delivery.attempt)
	if (delay === null) return { ...base, state: 'failed', nextAttemptAt: null }
	return { ...base, state: 'pending', nextAttemptAt: now + Math.max(delay, told ?? 0) }
}

/**
 * The dispatcher: claims due deliveries (up to `concurrency` in flight), sends each, and records
 * the outcomes in batches as they finish. A lane's next delivery becomes due only once the
 * previous one's outcome is recorded, which is what keeps a session's events in order.
 */
export function startDispatcher(deps: DispatcherDeps): Dispatcher {
	const { db, bus, config, logger, metrics } = deps
	const owner = `${hostname()}:${process.pid}:${Math.random().toString(36).slice(2, 8)}`
	const cipher = createCipher(deps.encryptionKey)
	// The lock outlives the longest attempt, with room to record it; a dispatcher killed mid-attempt
	// leaves its rows to be claimed again once the lock has run out.
	const lockMs = config.timeoutMs * 2 + 5_000
	const inFlight = new Set<Promise<void>>()
	const finished: AttemptResult[] = []
	let stopping = false
	let wakeUp: (() => void) | null = null
	let recording: Promise<void> | null = null

	const wake = () => {
		wakeUp?.()
		wakeUp = null
	}

	function secretsOf(d: ClaimedDelivery): string[] {
		const secrets = [cipher.decrypt(d.secret, secretAad(d.endpointId)).toString()]
		if (d.previousSecret) secrets.push(cipher.decrypt(d.previousSecret, secretAad(d.endpointId)).toString())
		return secrets
	}

	async function attempt(d: ClaimedDelivery) {
		let outcome: SendOutcome
		try {
			outcome = await sendSigned(
				{ url: d.url, eventId: d.eventId, body: d.body, secrets: secretsOf(d) },
				{ timeoutMs: config.timeoutMs, allowPrivateTargets: config.allowPrivateTargets, resolve: deps.resolve },
			)
		} catch (err) {
			outcome = { status: null, latencyMs: 0, kind: 'network', error: (err as Error).message, retryAfter: null }
		}
		metrics.attempt(outcome)
		const result = settle(d, outcome, config.retryScheduleMs)
		metrics.delivery(result.state === 'delivered' ? 'delivered' : result.state === 'failed' ? 'failed' : 'retrying')
		finished.push(result)
		record()
	}

	/** Writes finished outcomes, one statement for all that finished meanwhile. */
	function record() {
		recording ??= (async () => {
			while (finished.length) {
				const batch = finished.splice(0)
				try {
					const disabled = await recordAttempts(db, owner, batch, config.disableAfterMs)
					metrics.disabled(disabled.length)
					if (disabled.length) logger.warn({ endpoints: disabled }, 'webhook endpoints disabled')
				} catch (err) {
					// Their locks run out and they are sent again: a duplicate with the same webhook-id.
					logger.warn({ err, count: batch.length }, 'could not record webhook attempts')
				}
			}
		})().finally(() => {
			recording = null
			wake()
		})
	}

	const loop = (async () => {
		let failures = 0
		while (!stopping) {
			try {
				const free = config.concurrency - inFlight.size
				let claimed: ClaimedDelivery[] = []
				if (free > 0) {
					claimed = await claimDue(db, owner, free, lockMs, await watermark(bus))
					for (const d of claimed) {
						const p = attempt(d).finally(() => inFlight.delete(p))
						inFlight.add(p)
					}
				}
				failures = 0
				if (claimed.length && claimed.length === free) continue
			} catch (err) {
				failures++
				logger.warn({ err, failures }, 'webhook dispatcher could not claim deliveries; backing off')
			}
			if (stopping) break
			await new Promise<void>((resolve) => {
				const timer = setTimeout(resolve, failures ? Math.min(100 * 2 ** failures, 5_000) : config.pollMs)
				wakeUp = () => {
					clearTimeout(timer)
					resolve()
				}
			})
		}
	})()

	return {
		wake,
		async stop() {
			stopping = true
			wake()
			await loop
			await Promise.allSettled([...inFlight])
			while (recording) await recording
		},
	}
}
