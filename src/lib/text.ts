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

/** Numbers as runs for a log line: `[0, 1, 2, 3, 7, 9, 10]` → `0-3,7,9-10`; a fleet's 32 partitions read `0-31`, not 32 lines. */
export function numberRanges(numbers: Iterable<number>): string {
	const sorted = [...new Set(numbers)].sort((a, b) => a - b)
	const runs: string[] = []
	for (let i = 0; i < sorted.length; i++) {
		const start = sorted[i]!
		while (i + 1 < sorted.length && sorted[i + 1] === sorted[i]! + 1) i++
		runs.push(start === sorted[i] ? String(start) : `${start}-${sorted[i]}`)
	}
	return runs.join(',')
}

/** Text made safe to place in HTML, in an element or a quoted attribute. */
export const escapeHtml = (text: string) =>
	text.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!)
