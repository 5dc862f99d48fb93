import type { Bus } from '../src/bus'
import type { DomainEvent } from '../src/core/catalogue'
import { DOMAIN_EVENTS } from '../src/core/streams'

/**
 * Every domain event from now on, indexed by type and session, so that a thousand sessions each
 * awaiting their own event cost a lookup per arrival rather than a scan of the whole log.
 */
export function followIndexed(bus: Bus) {
	const all: DomainEvent[] = []
	const byKey = new Map<string, number[]>()
	const waiters = new Map<string, Set<() => void>>()
	const abort = new AbortController()
	const keyOf = (type: string, sessionId: string) => `${type} ${sessionId}`
	const tailing = (async () => {
		for await (const batch of bus.tail(DOMAIN_EVENTS, { after: '0', signal: abort.signal, blockMs: 200 })) {
			for (const entry of batch) {
				const event = entry.envelope as DomainEvent
				const key = keyOf(event.type, event.sessionId)
				const positions = byKey.get(key) ?? []
				positions.push(all.length)
				byKey.set(key, positions)
				all.push(event)
				for (const wake of [...(waiters.get(key) ?? [])]) wake()
			}
		}
	})().catch(() => {})
	return {
		/** Pass as `after` to wait only for later events. */
		get position() {
			return all.length
		},
		since: (position: number) => all.slice(position),
		waitFor(
			type: DomainEvent['type'],
			sessionId: string,
			{ after = 0, where = () => true, timeoutMs = 120_000 }: { after?: number; where?: (e: DomainEvent) => boolean; timeoutMs?: number } = {},
		): Promise<DomainEvent> {
			const key = keyOf(type, sessionId)
			const find = () =>
				(byKey.get(key) ?? [])
					.filter((i) => i >= after)
					.map((i) => all[i]!)
					.find(where)
			return new Promise((resolve, reject) => {
				const set = waiters.get(key) ?? new Set()
				waiters.set(key, set)
				const done = () => {
					clearTimeout(timer)
					set.delete(check)
				}
				const timer = setTimeout(() => {
					done()
					reject(new Error(`no ${type} for ${sessionId} within ${timeoutMs} ms`))
				}, timeoutMs)
				const check = () => {
					const hit = find()
					if (!hit) return
					done()
					resolve(hit)
				}
				set.add(check)
				check()
			})
		},
		async stop() {
			abort.abort()
			await tailing
		},
	}
}
