import { createHmac, timingSafeEqual } from 'node:crypto'
import { InvalidInputError } from '../core/errors'

const invalidCursor = () => new InvalidInputError('INVALID_CURSOR', 'The cursor is not one this list handed out; start again without it')

/** What a keyset position may hold: the sort key of the last row of a page. */
export type CursorValue = string | number | boolean | null

const MAC_BYTES = 12
const MAX_CURSOR_LENGTH = 2048

/**
 * Opaque keyset cursors: `base64url(JSON values) . base64url(HMAC)`. The MAC covers a scope (the
 * list and what it is filtered by), so a cursor only works on the list that issued it, and a
 * client cannot forge positions to probe the index; the values are still checked for their
 * types by the caller. Not secret: anyone may decode a cursor, nobody can change one.
 */
export function createCursorCodec(secret: string | Buffer) {
	const key = createHmac('sha256', secret).update('switchboard keyset cursor v1').digest()
	// Bun's own HMAC: about half the cost of node:crypto's createHmac per cursor.
	const mac = (scope: string, payload: string) =>
		new Bun.CryptoHasher('sha256', key).update(scope).update('\u0000').update(payload).digest().subarray(0, MAC_BYTES)

	return {
		encode(scope: string, values: readonly CursorValue[]): string {
			const payload = Buffer.from(JSON.stringify(values)).toString('base64url')
			return `${payload}.${mac(scope, payload).toString('base64url')}`
		},

		/** The values of a cursor this codec issued for `scope`; 400 INVALID_CURSOR for anything else. */
		decode(scope: string, cursor: string): CursorValue[] {
			if (cursor.length > MAX_CURSOR_LENGTH) throw invalidCursor()
			const [payload, tag, extra] = cursor.split('.')
			if (!payload || !tag || extra !== undefined) throw invalidCursor()
			// Node's base64 decoder skips stray characters: only the exact encoding of a MAC is one.
			const given = Buffer.from(tag, 'base64url')
			if (given.length !== MAC_BYTES || given.toString('base64url') !== tag || !timingSafeEqual(given, mac(scope, payload))) throw invalidCursor()
			let values: unknown
			try {
				values = JSON.parse(Buffer.from(payload, 'base64url').toString())
			} catch {
				throw invalidCursor()
			}
			if (!Array.isArray(values)) throw invalidCursor()
			return values as CursorValue[]
		},
	}
}

export type CursorCodec = ReturnType<typeof createCursorCodec>

/** A string value of a decoded cursor, or 400. */
export function cursorString(value: CursorValue | undefined): string {
	if (typeof value !== 'string') throw invalidCursor()
	return value
}

/** A timestamp value of a decoded cursor, as the text it was issued with (Postgres or ISO form), or 400. */
export function cursorTime(value: CursorValue | undefined): string {
	if (typeof value !== 'string' || value.length > 40 || Number.isNaN(new Date(value).getTime())) throw invalidCursor()
	return value
}

export function cursorBoolean(value: CursorValue | undefined): boolean {
	if (typeof value !== 'boolean') throw invalidCursor()
	return value
}

/** A non-negative integer of a decimal string (an int8 that JSON numbers cannot hold exactly), or 400. */
export function cursorDecimal(value: CursorValue | undefined): string {
	if (typeof value !== 'string' || !/^\d{1,18}$/.test(value)) throw invalidCursor()
	return value
}
