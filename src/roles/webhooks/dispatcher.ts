import { hostname } from 'node:os'
import { LRUCache } from 'lru-cache'
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

/** Room in a lock beyond the attempt it covers, for writing the attempt's outcome. */
const LOCK_MARGIN_MS = 5_000

/**
 * Outcome writes in flight at once, each taking whatever finished meanwhile. One: a write's cost is
 * mostly per statement (a statement of 64 outcomes costs PostgreSQL about a quarter of what eight
 * statements of 8 do), so lanes do better waiting for one larger write than sharing several small ones.
 */
const MAX_RECORDERS = 1

/** Deliveries of one lane claimed at once and sent one after another without asking Postgres in between. */
const PER_LANE = 64

/** Decrypted signing secrets, by their ciphertext: a rotation changes the ciphertext, so no entry outlives its secret. */
const SECRETS_CACHED = 1_000

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
 * The dispatcher: claims due lanes (up to `concurrency` in flight, each a run of one session's
 * deliveries to one endpoint), sends each lane's rows in order, and records the outcomes in
 * batches as they finish. A lane is claimed again only once its rows are recorded, which is what
 * keeps a session's events in order across claims and dispatchers.
 */
export function startDispatcher(deps: DispatcherDeps): Dispatcher {
	const { db, bus, config, logger, metrics } = deps
	const owner = `${hostname()}:${process.pid}:${Math.random().toString(36).slice(2, 8)}`
	const cipher = createCipher(deps.encryptionKey)
	// The lock outlives the longest attempt, with room to record it; a dispatcher killed mid-attempt
	// leaves its rows to be claimed again once the lock has run out.
	const lockMs = config.timeoutMs * 2 + LOCK_MARGIN_MS
	const inFlight = new Set<Promise<void>>()
	/** Outcomes waiting to be written, each with who waits for it. */
	const finished: { result: AttemptResult; written: (ok: boolean) => void }[] = []
	let stopping = false
	let wakeUp: (() => void) | null = null
	/** Writes in progress: a few at once, so a lane waits for its own write and not for the one before it. */
	const recorders = new Set<Promise<void>>()

	const wake = () => {
		wakeUp?.()
		wakeUp = null
	}

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
	const secretsOf = (d: ClaimedDelivery): string[] =>
		d.previousSecret ? [secretOf(d.endpointId, d.secret), secretOf(d.endpointId, d.previousSecret)] : [secretOf(d.endpointId, d.secret)]

	async function attempt(d: ClaimedDelivery): Promise<AttemptResult> {
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
		return result
	}

	/** Unlocks the rows a lane did not send: only those the claim locked are written. */
	const release = (rows: readonly ClaimedDelivery[]): AttemptResult[] =>
		rows
			.filter((d) => d.locked)
			.map((d) => ({
				id: d.id,
				endpointId: d.endpointId,
				state: 'released',
				nextAttemptAt: null,
				statusCode: null,
				latencyMs: 0,
				error: null,
				gone: false,
			}))

	/**
	 * Sends one lane's claimed rows in order, each after the previous one succeeded. The first that
	 * does not succeed (or is not due yet) stops the lane: the rows behind it are released unsent.
	 * Each outcome is written before the next row goes out, so a crash re-sends at most the request
	 * in flight; the lane stays held until its last outcome is in. A lane also stops while its lock
	 * still covers a whole attempt.
	 */
	async function runLane(rows: readonly ClaimedDelivery[], lockedUntil: number) {
		for (const [i, d] of rows.entries()) {
			if (stopping || !d.due || Date.now() + config.timeoutMs + LOCK_MARGIN_MS > lockedUntil) {
				await record(release(rows.slice(i)))
				return
			}
			const result = await attempt(d)
			// A failure and the release of the rows behind it are written together, so no claim sees the
			// failed row free while those rows are still held.
			const stop = result.state !== 'delivered'
			const written = await record(stop ? [result, ...release(rows.slice(i + 1))] : [result])
			// A write that failed leaves the lane held until its lock runs out; the row then goes again.
			if (!written || stop) return
		}
	}

	/** The claimed rows by lane, each lane in stream order. */
	function lanesOf(claimed: readonly ClaimedDelivery[]): ClaimedDelivery[][] {
		const lanes = new Map<string, ClaimedDelivery[]>()
		for (const d of claimed) {
			const key = d.sessionId === null ? d.id : `${d.endpointId}:${d.sessionId}`
			lanes.set(key, [...(lanes.get(key) ?? []), d])
		}
		const order = (a: ClaimedDelivery, b: ClaimedDelivery) => (a.positionMs ?? 0) - (b.positionMs ?? 0) || (a.positionSeq ?? 0) - (b.positionSeq ?? 0)
		return [...lanes.values()].map((rows) => rows.sort(order))
	}

	/**
	 * Writes outcomes: every lane's that finished meanwhile in one statement. Resolves false when the
	 * write failed; those rows' locks then run out and they are sent again (same webhook-id).
	 */
	function record(results: AttemptResult[]): Promise<boolean> {
		if (!results.length) return Promise.resolve(true)
		const written = new Promise<boolean>((resolve) => {
			for (const result of results) finished.push({ result, written: resolve })
		})
		if (recorders.size < MAX_RECORDERS) {
			const recorder: Promise<void> = (async () => {
				while (finished.length) {
					const batch = finished.splice(0)
					let ok = true
					try {
						const disabled = await recordAttempts(
							db,
							owner,
							batch.map((f) => f.result),
							config.disableAfterMs,
						)
						metrics.disabled(disabled.length)
						if (disabled.length) logger.warn({ endpoints: disabled }, 'webhook endpoints disabled')
					} catch (err) {
						ok = false
						logger.warn({ err, count: batch.length }, 'could not record webhook attempts')
					}
					for (const f of batch) f.written(ok)
				}
			})().finally(() => recorders.delete(recorder))
			recorders.add(recorder)
		}
		return written
	}

	const loop = (async () => {
		let failures = 0
		while (!stopping) {
			try {
				const free = config.concurrency - inFlight.size
				let lanes: ClaimedDelivery[][] = []
				if (free > 0) {
					const mark = await watermark(bus)
					// Taken before the claim, so it never runs past the locks the claim takes.
					const lockedUntil = Date.now() + lockMs
					lanes = lanesOf(await claimDue(db, owner, free, PER_LANE, lockMs, mark))
					for (const rows of lanes) {
						// A lane's end (its rows written or released) is what frees work to claim: an outcome
						// written mid-lane frees nothing, and a claim then would scan every queued row for nothing.
						const p = runLane(rows, lockedUntil).finally(() => {
							inFlight.delete(p)
							wake()
						})
						inFlight.add(p)
					}
				}
				failures = 0
				if (lanes.length && lanes.length === free) continue
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
			while (recorders.size) await Promise.all([...recorders])
		},
	}
}
