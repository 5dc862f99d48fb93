import { Counts } from '../../lib/counts'

/**
 * How long a lane keeps its slot, at the least, before it gives it up to an endpoint that waits for
 * one (see `SlotShare.shouldYield`): long enough that a fast receiver's lane sends a good run, short
 * against a slow receiver's lane, which would otherwise keep its slot for a whole run of requests.
 */
const SLICE_MS = 1_000

/** An endpoint seen waiting for a slot counts as waiting for this long after (a few claim rounds). */
const WAITING_FOR_MS = 5_000

/**
 * The dispatcher's slots shared out between endpoints. Without it a slot goes to whichever lane
 * asks first and stays with it for a whole run, so one account whose receiver answers slowly (but
 * does answer) and that has many sessions' events queued holds most of `WEBHOOK_CONCURRENCY`
 * while the other accounts' deliveries wait behind it. With it:
 *
 * - slots are given in turns: a claim or a hand-off takes the lanes of endpoints that hold fewer
 *   slots first (`turns`, `fairOrder`), so an endpoint with a few lanes does not wait behind one
 *   with hundreds;
 * - while another endpoint waits for a slot, a lane of an endpoint holding more than its share
 *   (the slots divided among the endpoints that send or wait) ends once it has sent for
 *   `SLICE_MS`, and its rows go back to the queue, in order.
 *
 * Nothing changes while one endpoint alone has work: it may have every slot.
 */
export function createSlotShare(concurrency: number) {
	/** Lanes being sent, by endpoint. */
	const running = new Counts<string>()
	/** Endpoints that had due work and no slot, with when they were last seen so. */
	const waiting = new Map<string, number>()

	function endpointsWaiting(): string[] {
		const since = Date.now() - WAITING_FOR_MS
		for (const [id, at] of waiting) if (at < since) waiting.delete(id)
		return [...waiting.keys()]
	}

	/** Slots each endpoint sending or waiting may count on. */
	function share(): number {
		const endpoints = new Set([...running.keys(), ...endpointsWaiting()])
		return Math.ceil(concurrency / Math.max(endpoints.size, 1))
	}

	return {
		/** A lane of the endpoint takes a slot. */
		started(endpointId: string) {
			running.add(endpointId)
			waiting.delete(endpointId)
		},
		/** A lane of the endpoint gave its slot back. */
		ended(endpointId: string) {
			running.remove(endpointId)
		},
		/** These endpoints have due work that found no slot. */
		sawWaiting(endpointIds: Iterable<string>) {
			const at = Date.now()
			for (const id of endpointIds) if (running.get(id) < share()) waiting.set(id, at)
		},
		/** The endpoints sending now, with their lanes: what a claim orders its lanes by. */
		turns(): { endpointIds: string[]; lanes: number[] } {
			return { endpointIds: running.keys(), lanes: running.values() }
		},
		/** Endpoints sending now: a probe for waiting ones passes them over. */
		sending(): string[] {
			return running.keys()
		},
		/**
		 * Whether a lane of this endpoint that has sent since `startedAt` should give its slot up now:
		 * it has had its slice, another endpoint waits, and this one holds more than its share.
		 */
		shouldYield(endpointId: string, startedAt: number): boolean {
			if (Date.now() - startedAt < SLICE_MS) return false
			if (!endpointsWaiting().some((id) => id !== endpointId)) return false
			return running.get(endpointId) > share()
		},
		/**
		 * New lanes in the order they should get slots: in turns, an endpoint's n-th new lane after every
		 * endpoint's lanes that would leave it holding fewer; within a turn, as given.
		 */
		fairOrder<T extends { endpointId: string }>(lanes: readonly T[]): T[] {
			const seen = new Map<string, number>()
			const turned = lanes.map((lane, index) => {
				const n = (seen.get(lane.endpointId) ?? running.get(lane.endpointId)) + 1
				seen.set(lane.endpointId, n)
				return { lane, turn: n, index }
			})
			return turned.sort((a, b) => a.turn - b.turn || a.index - b.index).map((t) => t.lane)
		},
	}
}

export type SlotShare = ReturnType<typeof createSlotShare>
