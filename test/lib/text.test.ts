import { describe, expect, it } from 'bun:test'
import { badStringPath, numberRanges, replaceUnstorableText } from '../../src/lib/text'

describe('numberRanges', () => {
	it('writes consecutive numbers as runs, in order, once each', () => {
		expect(numberRanges([7, 0, 2, 1, 3, 10, 9, 3])).toBe('0-3,7,9-10')
		expect(numberRanges(Array.from({ length: 32 }, (_, i) => i))).toBe('0-31')
		expect(numberRanges([5])).toBe('5')
		expect(numberRanges([])).toBe('')
	})
})

describe('badStringPath', () => {
	it('names the first string that is not storable text, keys included', () => {
		expect(badStringPath({ a: 'ok', b: [{ c: 'ok' }, { d: 'x\u0000' }], e: '\ud800' })).toBe('b.1.d')
		expect(badStringPath({ ok: 1, 'k\u0000': 'fine' })).toBe('k\u0000')
		expect(badStringPath('\udfff')).toBe('(root)')
		expect(badStringPath({ a: ['fine', 2, null, true], b: { c: 'é🚀' } })).toBeNull()
	})

	it('walks a value nested 200,000 deep without overflowing the stack', () => {
		let deep: unknown = 'bad\u0000'
		for (let i = 0; i < 200_000; i++) deep = [deep]
		expect(badStringPath({ x: deep })).toBe(`x${'.0'.repeat(200_000)}`)
		let clean: unknown = 'fine'
		for (let i = 0; i < 200_000; i++) clean = { a: clean }
		expect(badStringPath(clean)).toBeNull()
	})
})

describe('replaceUnstorableText', () => {
	it('replaces NUL and lone surrogates with U+FFFD in place, in strings, arrays and keys, and leaves good text alone', () => {
		const value = { text: 'a\u0000b', list: ['x\ud800', 'fine', 3, null, { deep: '\udfffz' }], 'k\u0000': 'v', emoji: '🚀 é' }
		expect(replaceUnstorableText(value)).toBe(value)
		expect(value).toEqual({ text: 'a\uFFFDb', list: ['x\uFFFD', 'fine', 3, null, { deep: '\uFFFDz' }], 'k\uFFFD': 'v', emoji: '🚀 é' } as never)
		expect(badStringPath(value)).toBeNull()
	})
})
