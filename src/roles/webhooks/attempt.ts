import { LRUCache } from 'lru-cache'
import type { WebhooksConfig } from '../../config'
import { retryAfterMs, retryDelayMs, secretAad } from '../../core/webhooks'
import { createCipher } from '../../lib/crypto'
import type { Resolver } from '../../lib/addresses'
import type { WebhookMetrics } from './metrics'
import { sendSigned, type SendOutcome } from './sender'
import type { AttemptResult, ClaimedDelivery } from './store'

/** Decrypted signing secrets, by their ciphertext: a rotation changes the ciphertext, so no entry outlives its secret. */
const SECRETS_CACHED = 1_000

/** What an attempt's outcome makes of its delivery. */
export function settle(delivery: ClaimedDelivery, outcome: SendOutcome, schedule: readonly number[], now = Date.now()): AttemptResult {
	const base = {
		id: delivery.id,
		endpointId: delivery.endpointId,
		statusCode: outcome.status,
		latencyMs: outcome.latencyMs,
		error: outcome.error,
		gone: false,
		holder: delivery.locked ? null : delivery.holder,
		timedOut: outcome.kind === 'timeout',
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

export interface AttemptDeps {
	config: WebhooksConfig
	encryptionKey: Buffer
	metrics: WebhookMetrics
	/** Replaces DNS (tests). */
	resolve?: Resolver
}

/** One signed attempt of a delivery, and what its outcome makes of it (`settle`), counted in the metrics. */
export function createAttempts({ config, encryptionKey, metrics, resolve }: AttemptDeps): (d: ClaimedDelivery) => Promise<AttemptResult> {
	const cipher = createCipher(encryptionKey)
	const secrets = new LRUCache<string, string>({ max: SECRETS_CACHED })
	function secretOf(endpointId: string, sealed: Buffer): string {
		const key = `${endpointId}:${sealed.toString('base64')}`
		let secret = secrets.get(key)
		if (secret === undefined) {
			secret = cipher.decrypt(sealed, secretAad(endpointId)).toString()
			secrets.set(key, secret)
		}
		return secret
	}
	const secretsOf = (d: ClaimedDelivery): string[] => [d.secret, ...d.previousSecrets].map((sealed) => secretOf(d.endpointId, sealed))

	return async function attempt(d: ClaimedDelivery): Promise<AttemptResult> {
		let outcome: SendOutcome
		try {
			outcome = await sendSigned(
				{ url: d.url, eventId: d.eventId, body: d.body, secrets: secretsOf(d) },
				{ timeoutMs: config.timeoutMs, allowPrivateTargets: config.allowPrivateTargets, resolve },
			)
		} catch (err) {
			outcome = { status: null, latencyMs: 0, kind: 'network', error: (err as Error).message, retryAfter: null }
		}
		metrics.attempt(outcome)
		const result = settle(d, outcome, config.retryScheduleMs)
		metrics.delivery(result.state === 'delivered' ? 'delivered' : result.state === 'failed' ? 'failed' : 'retrying')
		return result
	}
}
