import { LRUCache } from 'lru-cache'
import { Counts } from '../../lib/counts'

/** Endpoints remembered as silent: one entry each. */
const REMEMBERED = 10_000

/**
 * Endpoints whose last attempt got no answer within the timeout (a black-holed address, a receiver
 * that hangs). While one is silent, this dispatcher sends it one attempt at a time: its other lanes
 * wait, pending and unattempted, rather than each holding one of `WEBHOOK_CONCURRENCY`'s slots for
 * the whole timeout while every other endpoint's deliveries wait behind them. An attempt that ends
 * otherwise (any answer, even an error status, or a refused connection, which holds no slot for
 * long) ends it. Order and the retry schedule are untouched: a lane that waits sends nothing.
 */
export function createEndpointBreaker() {
	const silent = new LRUCache<string, true>({ max: REMEMBERED })
	const inFlight = new Counts<string>()
	const busy = (endpointId: string) => silent.has(endpointId) && inFlight.get(endpointId) > 0
	return {
		/** Whether an attempt to the endpoint may go now; when it may, it counts as in flight until `end`. */
		begin(endpointId: string): boolean {
			if (busy(endpointId)) return false
			inFlight.add(endpointId)
			return true
		},
		/** An attempt `begin` let go ended, `timedOut` or not. */
		end(endpointId: string, timedOut: boolean) {
			inFlight.remove(endpointId)
			if (timedOut) silent.set(endpointId, true)
			else silent.delete(endpointId)
		},
		/** Whether lanes of the endpoint should not start now: it is silent and its one attempt is out. */
		waiting: busy,
		/** The endpoints whose lanes should not start now, for a claim to pass over. */
		waitingEndpoints(): string[] {
			return inFlight.keys().filter(busy)
		},
	}
}

export type EndpointBreaker = ReturnType<typeof createEndpointBreaker>
