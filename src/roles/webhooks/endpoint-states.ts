import { LRUCache } from 'lru-cache'
import type { ClaimedDelivery, EndpointTarget } from './store'

/** Endpoints remembered: one entry each, a few hundred bytes. */
const REMEMBERED = 10_000

/**
 * What the dispatcher last saw of each endpoint, and when: every outcome write reads its endpoints
 * back. A lane's rows carry the URL and secrets of when they were claimed or handed over, possibly
 * many attempts ago; before each attempt the lane takes what was seen since (a new URL, a rotated
 * secret) and stops when the endpoint was deleted, paused or disabled meanwhile. A lane's next
 * attempt waits for its previous outcome's write, so what it sees is at most one attempt old.
 */
export function createEndpointStates() {
	const seen = new LRUCache<string, { target: EndpointTarget | null; at: number }>({ max: REMEMBERED })
	return {
		/** Endpoints as a write that began at `at` (epoch ms) read them. */
		saw(endpoints: ReadonlyMap<string, EndpointTarget | null>, at: number) {
			for (const [id, target] of endpoints) {
				const known = seen.get(id)
				if (!known || known.at <= at) seen.set(id, { target, at })
			}
		},
		/**
		 * The delivery as it should go out now: with what was seen of its endpoint after `readAt`
		 * (when its row was read), or as it is; null when the endpoint may no longer be sent to.
		 */
		current(d: ClaimedDelivery, readAt: number): ClaimedDelivery | null {
			const known = seen.get(d.endpointId)
			if (!known || known.at < readAt) return d
			return known.target && { ...d, ...known.target }
		},
	}
}

export type EndpointStates = ReturnType<typeof createEndpointStates>
