/**
 * Whether an `If-None-Match` header names `etag` (compared weakly, as RFC 9110 says: `W/"…"` and
 * lists count), or is `*`: the answer is then 304.
 */
export function matchesNoneMatch(header: string | null, etag: string): boolean {
	if (header === null) return false
	if (header.trim() === '*') return true
	return header.split(',').some((tag) => tag.trim().replace(/^W\//, '') === etag)
}
