import type { Bus } from '../../src/bus'
import { DOMAIN_EVENTS } from '../../src/core/streams'
import type { DomainEvent, DomainEventType, Envelope } from '../../src/core/catalogue'

/** Every domain event on a bus since the log started following it, and ways to await one. */
export interface EventLog {
	/** In stream order. */
	readonly events: DomainEvent[]
	/** The events of one session and type after `after` (an index into `events`). */
	eventsOf<K extends DomainEventType>(sessionId: string, type: K, after?: number): Envelope<K>[]
	/** Resolves with the first event after `after` that matches; rejects after `timeoutMs` naming what it saw. */
	waitFor<K extends DomainEventType>(
		type: K,
		sessionId: string,
		options?: { after?: number; where?: (e: Envelope<K>) => boolean; timeoutMs?: number },
	): Promise<Envelope<K>>
	stop(): Promise<void>
}

export function followEvents(bus: Bus): EventLog {
	const events: DomainEvent[] = []
	const waiters = new Set<() => void>()
	const abort = new AbortController()
	const tailing = (async () => {
		for await (const batch of bus.tail(DOMAIN_EVENTS, { after: '0', signal: abort.signal, blockMs: 200 })) {
			for (const entry of batch) events.push(entry.envelope as DomainEvent)
			for (const wake of [...waiters]) wake()
		}
	})().catch(() => {})
	const eventsOf = <K extends DomainEventType>(sessionId: string, type: K, after = 0) =>
		events.slice(after).filter((e) => e.sessionId === sessionId && e.type === type) as unknown as Envelope<K>[]
	return {
		events,
		eventsOf,
		waitFor(type, sessionId, { after = 0, where = () => true, timeoutMs = 15_000 } = {}) {
			const find = () => eventsOf(sessionId, type, after).find(where)
			const found = find()
			if (found) return Promise.resolve(found)
			return new Promise((resolve, reject) => {
				const timer = setTimeout(() => {
					waiters.delete(wake)
					const seen = events.filter((e) => e.sessionId === sessionId).map((e) => `${e.type} ${JSON.stringify(e.data).slice(0, 160)}`)
					reject(new Error(`no ${type} for ${sessionId} within ${timeoutMs} ms; this session's events:\n  ${seen.join('\n  ')}`))
				}, timeoutMs)
				const wake = () => {
					const hit = find()
					if (!hit) return
					clearTimeout(timer)
					waiters.delete(wake)
					resolve(hit)
				}
				waiters.add(wake)
			})
		},
		async stop() {
			abort.abort()
			await tailing
		},
	}
}
