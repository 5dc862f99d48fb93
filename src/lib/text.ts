/**
 * Where a value holds a string that cannot be stored or shown as text: a lone UTF-16 surrogate
 * (not valid Unicode; PostgreSQL refuses to encode it) or a NUL character (PostgreSQL text and
 * jsonb cannot hold it). Returns the path of the first one (`name`, `items.2.text`), or null.
 */
export function badStringPath(value: unknown, path = ''): string | null {
	if (typeof value === 'string') return !value.isWellFormed() || value.includes('\u0000') ? path || '(root)' : null
	if (typeof value !== 'object' || value === null) return null
	for (const [key, item] of Array.isArray(value) ? value.entries() : Object.entries(value)) {
		const here = path ? `${path}.${key}` : String(key)
		// Keys are text too: they end up in jsonb columns.
		if (typeof key === 'string' && (!key.isWellFormed() || key.includes('\u0000'))) return here
		const found = badStringPath(item, here)
		if (found) return found
	}
	return null
}
