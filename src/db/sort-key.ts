import { type SQL, sql } from 'drizzle-orm'

/**
 * A name as lists sort it: lower case with its accents taken off, so that `Ângela` and `Érica` sort
 * beside `angela` and `erica` rather than after `zoe`. The database's collation often orders by
 * code point (C.UTF-8), and the ICU collations that would do better are missing from embedded
 * PGlite. The expression is immutable, so an index holds it; a query must write it the same way
 * for that index to serve its order.
 */
export const nameSortKey = (name: SQL) => sql<string | null>`regexp_replace(normalize(lower(${name}), NFD), '[\\u0300-\\u036f]', '', 'g')`

/** Text folded as `nameSortKey` folds a name: what a search compares with the key. */
export const foldName = (text: string) =>
	text
		.toLowerCase()
		.normalize('NFD')
		.replace(/[\u0300-\u036f]/g, '')
