import { describe, expect, it } from 'bun:test'
import { startPeriodic } from '../../src/lib/background'

/** A promise and the function that settles it. */
function signal<T = void>() {
	let resolve!: (value: T) => void
	const promise = new Promise<T>((r) => (resolve = r))
	return { promise, resolve }
}

describe('startPeriodic', () => {
	it('runs the first round at once when asked, then the next only once woken while the interval is long', async () => {
		const rounds: number[] = []
		let ran = signal()
		const periodic = startPeriodic(
			async () => {
				rounds.push(rounds.length)
				ran.resolve()
			},
			{ everyMs: 60_000, immediately: true, onError: () => {} },
		)
		await ran.promise
		expect(rounds).toEqual([0])
		ran = signal()
		periodic.wake()
		await ran.promise
		expect(rounds).toEqual([0, 1])
		await periodic.stop()
		expect(rounds).toEqual([0, 1])
	})

	it('waits the interval before the first round unless asked otherwise, and goes on after a round that throws', async () => {
		const errors: unknown[] = []
		let calls = 0
		const third = signal()
		const periodic = startPeriodic(
			async () => {
				calls++
				if (calls === 1) throw new Error('round one failed')
				if (calls === 3) third.resolve()
			},
			{ everyMs: 20, onError: (err) => errors.push(err) },
		)
		await Promise.resolve()
		expect(calls).toBe(0)
		await third.promise
		expect(errors.map((e) => (e as Error).message)).toEqual(['round one failed'])
		await periodic.stop()
	})

	it('stops only once the round in hand has ended, tells that round a stop was asked, and starts no other', async () => {
		const inRound = signal()
		const release = signal()
		const sawStopping: boolean[] = []
		let calls = 0
		const periodic = startPeriodic(
			async (stopping) => {
				calls++
				inRound.resolve()
				await release.promise
				sawStopping.push(stopping())
			},
			{ everyMs: 1, immediately: true, onError: () => {} },
		)
		await inRound.promise
		let stopped = false
		const stopping = periodic.stop().then(() => (stopped = true))
		await Promise.resolve()
		expect(stopped).toBe(false)
		release.resolve()
		await stopping
		expect(sawStopping).toEqual([true])
		expect(calls).toBe(1)
	})

	it('runs a round woken during another right after it, without waiting the interval', async () => {
		const first = signal()
		const release = signal()
		const second = signal()
		let calls = 0
		const periodic = startPeriodic(
			async () => {
				calls++
				if (calls === 1) {
					first.resolve()
					await release.promise
				} else second.resolve()
			},
			{ everyMs: 60_000, immediately: true, onError: () => {} },
		)
		await first.promise
		periodic.wake()
		release.resolve()
		await second.promise
		expect(calls).toBe(2)
		await periodic.stop()
	})
})
