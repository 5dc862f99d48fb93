/** A string PostgreSQL can store as text: valid Unicode (no lone UTF-16 surrogate) without NUL. */
export const storable = (text: string) => text.isWellFormed() && !text.includes('\u0000')

interface Visit {
	value: unknown
	key: string | null
	parent: Visit | null
}

const pathOf = (visit: Visit) => {
	const keys: string[] = []
	for (let at: Visit | null = visit; at?.key != null; at = at.parent) keys.push(at.key)
	return keys.reverse().join('.') || '(root)'
}

/**
 * Where a value holds a string that cannot be stored or shown as text: a lone UTF-16 surrogate
 * (not valid Unicode; PostgreSQL refuses to encode it) or a NUL character (PostgreSQL text and
 * jsonb cannot hold it). Returns the path of the first one (`name`, `items.2.text`), or null.
 * Walks with a stack of its own and builds a path only for what it finds: a body nested 100,000
 * deep is valid JSON, and must neither overflow the call stack nor build a path per level.
 */
export function badStringPath(root: unknown): string | null {
	const stack: Visit[] = [{ value: root, key: null, parent: null }]
	while (stack.length) {
		const visit = stack.pop()!
		// Keys are text too: they end up in jsonb columns.
		if (visit.key !== null && !storable(visit.key)) return pathOf(visit)
		const { value } = visit
		if (typeof value === 'string') {
			if (!storable(value)) return pathOf(visit)
			continue
		}
		if (typeof value !== 'object' || value === null) continue
		const entries = Array.isArray(value) ? [...value.entries()] : Object.entries(value)
		// Pushed last to first, so the first entry is looked at first.
		for (let i = entries.length - 1; i >= 0; i--) stack.push({ value: entries[i]![1], key: String(entries[i]![0]), parent: visit })
	}
	return null
}

/** `text` with each NUL and lone surrogate replaced by U+FFFD. */
export const storableText = (text: string) => (storable(text) ? text : text.replaceAll('\u0000', '\uFFFD').toWellFormed())

/**
 * Makes every string in `value` storable, in place: a NUL or a lone surrogate becomes U+FFFD (the
 * replacement character), keys included. For what arrives from outside without a request to
 * refuse (WhatsApp's messages and names): stored as it is, one such character would fail every
 * write of the batch it travels in. Returns `value`.
 */
export function replaceUnstorableText<T>(value: T): T {
	const stack: unknown[] = [value]
	while (stack.length) {
		const item = stack.pop()
		if (typeof item !== 'object' || item === null) continue
		if (Array.isArray(item)) {
			for (let i = 0; i < item.length; i++) {
				if (typeof item[i] === 'string') item[i] = storableText(item[i])
				else stack.push(item[i])
			}
			continue
		}
		const record = item as Record<string, unknown>
		for (const key of Object.keys(record)) {
			let current = record[key]
			if (typeof current === 'string') current = record[key] = storableText(current)
			else stack.push(current)
			if (!storable(key)) {
				delete record[key]
				record[storableText(key)] = current
			}
		}
	}
	return value
}

/**
 * The first `max` characters of `text`, storable: never half of a surrogate pair, no NUL. For text
 * someone else wrote that is kept as an excerpt (a receiver's answer to a webhook).
 */
export const storableExcerpt = (text: string, max: number) => storableText([...text.slice(0, max * 2)].slice(0, max).join(''))

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

// biome-ignore lint/complexity/useRegexLiterals: the `v` flag (Unicode sets, for \p{RGI_Emoji}) is newer than the dashboard's TypeScript target, which type-checks this file too
const RGI_EMOJI = new RegExp('^\\p{RGI_Emoji}$', 'v')
/** A pictograph written without its emoji variation selector (`❤`, `☺`), as some keyboards send them. */
const PICTOGRAPH = /^\p{Extended_Pictographic}\uFE0F?$/u

/** Whether `text` is exactly one emoji: what WhatsApp shows as a reaction. */
export const isOneEmoji = (text: string) => RGI_EMOJI.test(text) || PICTOGRAPH.test(text)
