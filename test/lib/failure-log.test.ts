import { describe, expect, it } from 'bun:test'
import { worthLogging } from '../../src/lib/failure-log'

describe('worthLogging', () => {
	it('logs the 1st, 2nd, 4th, 8th… failure of a run: a dozen lines for an hour of retries every 5 s', () => {
		const logged = Array.from({ length: 720 }, (_, i) => i + 1).filter(worthLogging)
		expect(logged).toEqual([1, 2, 4, 8, 16, 32, 64, 128, 256, 512])
		expect(worthLogging(0)).toBe(false)
	})
})
