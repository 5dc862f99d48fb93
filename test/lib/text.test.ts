import { describe, expect, it } from 'bun:test'
import { numberRanges } from '../../src/lib/text'

describe('numberRanges', () => {
	it('writes consecutive numbers as runs, in order, once each', () => {
		expect(numberRanges([7, 0, 2, 1, 3, 10, 9, 3])).toBe('0-3,7,9-10')
		expect(numberRanges(Array.from({ length: 32 }, (_, i) => i))).toBe('0-31')
		expect(numberRanges([5])).toBe('5')
		expect(numberRanges([])).toBe('')
	})
})
