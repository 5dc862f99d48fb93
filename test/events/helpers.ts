import type { Bus, ConsumeOptions, Delivery, GroupConsumer } from '../../src/bus/bus'
import { command, domainEvent, type AnyEnvelope } from '../../src/core/catalogue'

export const TENANT = '01900000-0000-7000-8000-000000000001'
export const SESSION = '01900000-0000-7000-8000-0000000000aa'

let n = 0
/** A valid domain event; `qr` numbers them so tests can tell them apart. */
export function qrEvent(sessionId = SESSION, qr = `qr-${++n}`) {
	return domainEvent('session.qr.updated', { tenantId: TENANT, sessionId }, { qr })
}

export function stopCommand(sessionId = SESSION) {
	return command('session.stop', { tenantId: TENANT, sessionId }, {})
}

/** Resolves when `predicate` holds, re-checked whenever `notify()` is called. */
export function condition() {
	const waiters = new Set<() => void>()
	return {
		notify() {
			for (const w of waiters) w()
		},
		until(predicate: () => boolean, timeoutMs = 10_000, what = 'condition'): Promise<void> {
			if (predicate()) return Promise.resolve()
			return new Promise((resolve, reject) => {
				const timer = setTimeout(() => {
					waiters.delete(check)
					reject(new Error(`timed out waiting for ${what}`))
				}, timeoutMs)
				const check = () => {
					if (!predicate()) return
					clearTimeout(timer)
					waiters.delete(check)
					resolve()
				}
				waiters.add(check)
			})
		},
	}
}

export interface Collector {
	consumer: GroupConsumer
	received: Delivery[]
	/** Resolves once at least `count` deliveries reached the handler (handled or not). */
	delivered(count: number): Promise<void>
	/** Resolves once at least `count` deliveries were handled successfully. */
	handled(count: number): Promise<void>
	handledIds(): string[]
}

/**
 * A group consumer that records what it handles. `fail` decides per delivery whether the handler
 * throws (the whole batch fails when any entry does); `onChange` hears of every delivery and
 * every success, for conditions over several collectors.
 */
export async function collect(
	bus: Bus,
	options: Partial<ConsumeOptions> & { fail?: (d: Delivery) => boolean; block?: Promise<void>; onChange?: () => void } = {},
): Promise<Collector> {
	const received: Delivery[] = []
	const ok: Delivery[] = []
	const changed = condition()
	const notify = () => {
		changed.notify()
		options.onChange?.()
	}
	const consumer = await bus.consume({
		group: 'g',
		streams: ['domain-events'],
		claimIdleMs: 100,
		...options,
		async handle(batch) {
			received.push(...batch)
			notify()
			if (options.block) await options.block
			const bad = batch.find((d) => options.fail?.(d))
			if (bad) throw new Error(`poison ${bad.envelope.id}`)
			ok.push(...batch)
			notify()
		},
	})
	return {
		consumer,
		received,
		delivered: (count) => changed.until(() => received.length >= count, 10_000, `${count} deliveries`),
		handled: (count) => changed.until(() => ok.length >= count, 10_000, `${count} handled deliveries`),
		handledIds: () => ok.map((d) => d.envelope.id),
	}
}

export const ids = (envelopes: readonly AnyEnvelope[]) => envelopes.map((e) => e.id)
