/**
 * A PostgreSQL array literal (`{"a","b",NULL}`) of these values, passed as one text parameter and
 * cast in SQL (`$1::text::uuid[]`). The drivers infer a JS array's type from its first element and
 * would send a boolean array as a boolean; a literal reads the same on postgres.js and PGlite.
 * Every element is quoted, with `\` and `"` escaped, as PostgreSQL's array input reads them.
 */
export function arrayLiteral(values: readonly (string | number | boolean | null)[]): string {
	let literal = '{'
	for (let i = 0; i < values.length; i++) {
		const value = values[i]
		if (i) literal += ','
		literal += value === null ? 'NULL' : `"${String(value).replace(/[\\"]/g, '\\$&')}"`
	}
	return `${literal}}`
}
