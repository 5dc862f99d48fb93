import { sql } from 'drizzle-orm'

/** A page of a list: `nextCursor` is null on the last page. */
export interface Page<T> {
	items: T[]
	nextCursor: string | null
}

/**
 * Rows a page query fetches for a page of `limit` items: at least `limit + 1` (the extra row says
 * whether there is a next page), rounded up to one of a few sizes that are written into the SQL.
 *
 * Why not `LIMIT $n`: Postgres cannot cost a generic plan for a parameter limit, so it never
 * settles on one and plans the statement again on every execution, which on these sub-millisecond
 * queries was a third of their time. A literal limit per size keeps the statements few (one per
 * size and shape) and lets each go generic; a page reads at most twice the rows it needs.
 */
const SIZES = [11, 21, 51, 101, 201] as const

export function fetchSize(rows: number): number {
	return SIZES.find((n) => n >= rows) ?? rows
}

/** `LIMIT` as SQL text, for `.limit()` (which would otherwise send it as a parameter). */
export const literalLimit = (size: number) => sql.raw(String(Math.trunc(size))) as unknown as number

/** Builds (prepares) a statement once per fetch size, on first use. */
export function perSize<T>(build: (size: number) => T): (size: number) => T {
	const built = new Map<number, T>()
	return (size) => {
		let statement = built.get(size)
		if (!statement) built.set(size, (statement = build(size)))
		return statement
	}
}

/**
 * A prepared statement's rows as the driver returns them: output column names, timestamps as
 * Postgres text. Skips Drizzle's per-value mapping, which on a 50-row page cost about as much as
 * the query itself. Both drivers (postgres.js, PGlite) implement `all()` on prepared statements;
 * the shared Drizzle type only declares `execute()`.
 */
export function rawRows<R>(
	statement: { execute(params?: Record<string, unknown>): Promise<unknown> },
	params: Record<string, unknown>,
): Promise<R[]> {
	return (statement as unknown as { all(params: Record<string, unknown>): Promise<R[]> }).all(params)
}

/** A timestamp column of a raw row (Postgres text, or a Date from a driver that parses it) as ISO-8601. */
export function isoTime(value: string | Date | null): string | null {
	if (value === null) return null
	if (typeof value !== 'string') return value.toISOString()
	return utcTextToIso(value) ?? new Date(value).toISOString()
}

/**
 * Postgres' text of a timestamptz in UTC (`2026-11-29 07:00:00.123456+00`; connections run with
 * TimeZone=UTC, see db/client.ts) rewritten as ISO-8601 by slicing. Parsing that text with `Date`
 * was the largest single cost of mapping a page of rows. Null for any other shape (another time
 * zone, a year past 9999), which the caller parses the slow way.
 */
function utcTextToIso(text: string): string | null {
	const n = text.length
	if (n < 22 || n > 29 || text.charCodeAt(10) !== 32 || !text.endsWith('+00')) return null
	if (n === 22) return `${text.slice(0, 10)}T${text.slice(11, 19)}.000Z`
	if (text.charCodeAt(19) !== 46) return null
	return `${text.slice(0, 10)}T${text.slice(11, 19)}.${(`${text.slice(20, n - 3)}00`).slice(0, 3)}Z`
}
