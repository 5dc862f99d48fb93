import { describe, expect, it } from 'bun:test'
import { isoTime } from '../../src/lib/keyset'

describe('isoTime', () => {
	it.each([
		'2026-11-29 07:00:00+00',
		'2026-11-29 07:00:00.1+00',
		'2026-11-29 07:00:00.12+00',
		'2026-11-29 07:00:00.123+00',
		'2026-11-29 07:00:00.123456+00',
		'1999-12-31 23:59:59.999999+00',
		'2026-11-29 09:00:00.5+02',
		'2026-11-29 02:00:00-05',
	])('maps Postgres text %s to the instant Date would give', (text) => {
		expect(isoTime(text)).toBe(new Date(text).toISOString())
	})

	it('passes Dates and nulls through', () => {
		expect(isoTime(new Date(0))).toBe('1970-01-01T00:00:00.000Z')
		expect(isoTime(null)).toBeNull()
	})
})
