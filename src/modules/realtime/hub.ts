import { compareIds, type Bus, type StreamEntry } from '../../bus'
import { DOMAIN_EVENTS } from '../../core/streams'
import { wireEvent } from '../../core/webhooks'
import { Counts } from '../../lib/counts'
import type { Logger } from '../../logger'
import type { RealtimeStats } from '../../observability/system'

/** What the hub publishes through: Bun's `server.publish` (native per-topic fan-out). */
export interface Publisher {
	publish(topic: string, data: string): number
}

export const tenantTopic = (tenantId: string) => `tenant:${tenantId}`

/** The text frame a domain event goes out as: `id` is the stream position, the envelope's uuid is `eventId`. */
export function wireMessage({ id, envelope }: StreamEntry): string {
	return wireEvent(id, envelope)
}

interface Recent {
	id: string
	tenantId: string
	text: string
}

export interface RealtimeHubOptions {
	bus: Bus
	logger: Logger
	/** Recent events kept so a joining socket closes the gap to the live stream without a read (default 10 000). */
	recentMaxEntries?: number
	/** …and at most this many bytes of them (default 16 MiB). */
	recentMaxBytes?: number
}

/**
 * One per API instance: tails `domain-events` once (one blocking Redis connection, whatever the
 * number of sockets) and publishes every event to the topic of its tenant, so Bun's native pub/sub
 * does the per-socket fan-out. Several instances each run their own and serve their own sockets.
 *
 * It also keeps the most recent events in order, and `position` — the last one published. That is
 * what lets a socket that caught up from the stream or a snapshot join the live topic without a gap
 * or a duplicate: the join (send what it is missing from `recent`, then subscribe) runs without an
 * await in between, so no publish can slip between the two (connection.ts).
 */
export class RealtimeHub {
	readonly stats: RealtimeStats = { published: 0, connections: 0, slowConsumerCloses: 0, socketLimitCloses: 0 }
	private readonly bus: Bus
	private readonly log: Logger
	private readonly maxEntries: number
	private readonly maxBytes: number
	private publisher: Publisher | null = null
	private loop: Promise<void> | null = null
	private pos = '0-0'
	/** Position of the newest event evicted from `recent` (or where the hub started): `recent` holds everything after it. */
	private recentStart = '0-0'
	private recent: Recent[] = []
	private head = 0
	private bytes = 0
	private waiters: { pos: string; resolve: (reached: boolean) => void }[] = []
	/** Open sockets per tenant on this instance (see `admit`). */
	private readonly sockets = new Counts<string>()
	/** Per tenant, what runs right after a batch was published to its topic (send-queue checks). */
	private readonly afterPublish = new Map<string, Set<() => void>>()
	private readonly stopping = new AbortController()
	private readonly shuttingDown = new AbortController()
	private markReady!: () => void
	/** Resolves once the hub knows its starting position. */
	readonly ready = new Promise<void>((resolve) => (this.markReady = resolve))

	constructor(options: RealtimeHubOptions) {
		this.bus = options.bus
		this.log = options.logger.child({ component: 'realtime-hub' })
		this.maxEntries = options.recentMaxEntries ?? 10_000
		this.maxBytes = options.recentMaxBytes ?? 16 * 1024 * 1024
	}

	/**
	 * Counts one more open socket of `tenantId`, unless the tenant holds `max` on this instance
	 * already: then nothing is counted and the answer is false. Each socket holds a send buffer of up
	 * to WS_SEND_BUFFER_BYTES, so without a bound one tenant's runaway client could take an
	 * instance's memory from every other tenant.
	 */
	admit(tenantId: string, max: number): boolean {
		if (this.sockets.get(tenantId) >= max) {
			this.stats.socketLimitCloses++
			return false
		}
		this.sockets.add(tenantId)
		this.stats.connections++
		return true
	}

	/** A socket `admit` counted has ended. */
	release(tenantId: string) {
		this.sockets.remove(tenantId)
		this.stats.connections--
	}

	/** Starts following the stream from its current end (retrying while the bus is away); idempotent. */
	start(publisher: Publisher) {
		this.publisher = publisher
		this.loop ??= this.follow()
	}

	/** The last event published to the topics. */
	get position(): string {
		return this.pos
	}

	/** Fires when the server begins to shut down: every socket closes with 1001. */
	get closing(): AbortSignal {
		return this.shuttingDown.signal
	}

	/** True when every event after `pos` that was published is still in `recent`. */
	covers(pos: string): boolean {
		return compareIds(pos, this.recentStart) >= 0 && compareIds(pos, this.pos) <= 0
	}

	/** The frames of `tenantId`'s events after `pos`, from `recent` (call only when `covers(pos)`). */
	recentAfter(pos: string, tenantId: string): string[] {
		let lo = this.head
		let hi = this.recent.length
		while (lo < hi) {
			const mid = (lo + hi) >>> 1
			if (compareIds(this.recent[mid]!.id, pos) <= 0) lo = mid + 1
			else hi = mid
		}
		const out: string[] = []
		for (let i = lo; i < this.recent.length; i++) if (this.recent[i]!.tenantId === tenantId) out.push(this.recent[i]!.text)
		return out
	}

	/** Resolves true once the hub has published up to `pos`, false if `signal` aborts first. */
	until(pos: string, signal: AbortSignal): Promise<boolean> {
		if (compareIds(pos, this.pos) <= 0) return Promise.resolve(true)
		if (signal.aborted) return Promise.resolve(false)
		return new Promise((resolve) => {
			const waiter = {
				pos,
				resolve: (reached: boolean) => {
					signal.removeEventListener('abort', onAbort)
					resolve(reached)
				},
			}
			const onAbort = () => {
				this.waiters = this.waiters.filter((w) => w !== waiter)
				resolve(false)
			}
			signal.addEventListener('abort', onAbort, { once: true })
			this.waiters.push(waiter)
		})
	}

	/** Closes every socket (1001) so clients reconnect elsewhere; the tail keeps running until `stop`. */
	shutdown() {
		this.shuttingDown.abort()
	}

	async stop() {
		this.shutdown()
		this.stopping.abort()
		for (const w of this.waiters.splice(0)) w.resolve(false)
		await this.loop
	}

	private async follow() {
		let failures = 0
		const backoff = () => Bun.sleep(Math.min(100 * 2 ** ++failures, 5_000))
		while (!this.stopping.signal.aborted) {
			try {
				const { lastId } = await this.bus.info(DOMAIN_EVENTS)
				this.pos = this.recentStart = lastId ?? '0-0'
				break
			} catch (err) {
				this.log.warn({ err }, 'cannot read domain-events yet; retrying')
				await backoff()
			}
		}
		this.markReady()
		failures = 0
		while (!this.stopping.signal.aborted) {
			try {
				for await (const batch of this.bus.tail(DOMAIN_EVENTS, { after: this.pos, signal: this.stopping.signal, count: 1_000 })) {
					this.fanOut(batch)
					failures = 0
				}
				// The tail ends only when the bus closes or we stop; either way there is nothing more to follow.
				return
			} catch (err) {
				if (this.stopping.signal.aborted) return
				this.log.error({ err }, 'tail of domain-events failed; resuming from the last published position')
				await backoff()
			}
		}
	}

	/**
	 * Runs `check` after every batch published to the tenant's topic; returns the unsubscribe.
	 * Sockets measure their send queue here, where it grows, rather than on a timer that a burst
	 * could outrun.
	 */
	watchTenant(tenantId: string, check: () => void): () => void {
		let checks = this.afterPublish.get(tenantId)
		if (!checks) this.afterPublish.set(tenantId, (checks = new Set()))
		checks.add(check)
		return () => {
			checks.delete(check)
			if (checks.size === 0 && this.afterPublish.get(tenantId) === checks) this.afterPublish.delete(tenantId)
		}
	}

	private fanOut(batch: StreamEntry[]) {
		const tenants = new Set<string>()
		for (const entry of batch) {
			const text = wireMessage(entry)
			const tenantId = entry.envelope.tenantId
			this.remember({ id: entry.id, tenantId, text })
			this.publisher?.publish(tenantTopic(tenantId), text)
			this.pos = entry.id
			tenants.add(tenantId)
		}
		for (const tenantId of tenants) for (const check of this.afterPublish.get(tenantId) ?? []) check()
		this.stats.published += batch.length
		if (this.waiters.length) {
			const due = this.waiters.filter((w) => compareIds(w.pos, this.pos) <= 0)
			if (due.length) {
				this.waiters = this.waiters.filter((w) => compareIds(w.pos, this.pos) > 0)
				for (const w of due) w.resolve(true)
			}
		}
	}

	private remember(entry: Recent) {
		this.recent.push(entry)
		this.bytes += entry.text.length
		while (this.recent.length - this.head > this.maxEntries || (this.bytes > this.maxBytes && this.recent.length - this.head > 1)) {
			const old = this.recent[this.head++]!
			this.bytes -= old.text.length
			this.recentStart = old.id
		}
		if (this.head > 4_096 && this.head * 2 > this.recent.length) {
			this.recent = this.recent.slice(this.head)
			this.head = 0
		}
	}
}
