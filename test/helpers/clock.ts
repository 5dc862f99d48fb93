import type { Clock } from '../../src/lib/clock'

/** A clock that only moves when told to: expiry without sleeping. */
export function createTestClock(start = new Date()): Clock & { advance(ms: number): void } {
	let now = start.getTime()
	return {
		now: () => new Date(now),
		advance(ms) {
			now += ms
		},
	}
}
