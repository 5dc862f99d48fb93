import type { ByteRange } from '../../media'

/**
 * The one byte range a `Range` header asks for, within a file of `size` bytes: `bytes=a-b`,
 * `bytes=a-` or `bytes=-n` (the last n bytes). Null to send the whole file: no header, one that is
 * not a valid single range (`bytes=5-1`, several ranges, another unit), which RFC 9110 says to
 * ignore, or an `If-Range` that names another version than `etag`. `unsatisfiable` when it
 * selects no byte of the file (it starts past the end, asks for the last 0 bytes, or the file is empty).
 */
export function requestedRange(header: string | null, size: number, etag: string, ifRange: string | null): ByteRange | null | 'unsatisfiable' {
	const match = header ? /^bytes=(\d*)-(\d*)$/.exec(header.trim()) : null
	if (!match || (match[1] === '' && match[2] === '')) return null
	// A date (this server sends no Last-Modified) or a weak or other tag: the client's part is stale.
	if (ifRange !== null && ifRange.trim() !== etag) return null
	if (match[1] === '') {
		const suffix = Number(match[2])
		if (suffix === 0 || size === 0) return 'unsatisfiable'
		return { start: Math.max(0, size - suffix), end: size - 1 }
	}
	const start = Number(match[1])
	if (match[2] !== '' && Number(match[2]) < start) return null
	if (start >= size) return 'unsatisfiable'
	return { start, end: match[2] === '' ? size - 1 : Math.min(Number(match[2]), size - 1) }
}
