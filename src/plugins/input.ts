import { Elysia } from 'elysia'
import { badStringPath } from '../lib/text'
import { RequestError } from './errors'

const JSON_TYPE = /^application\/(?:[\w.+-]+\+)?json\s*(?:;|$)/i
const utf8 = new TextDecoder('utf-8', { fatal: true })

const tooLarge = (limit: number) => new RequestError(413, 'PAYLOAD_TOO_LARGE', `Request body is larger than ${limit} bytes`)

/** The body's bytes, refusing it as soon as more than `limit` arrived, whatever Content-Length said. */
async function readLimited(request: Request, limit: number): Promise<Uint8Array> {
	if (!request.body) return new Uint8Array()
	const chunks: Uint8Array[] = []
	let size = 0
	for await (const chunk of request.body as unknown as AsyncIterable<Uint8Array>) {
		size += chunk.byteLength
		if (size > limit) throw tooLarge(limit)
		chunks.push(chunk)
	}
	return Buffer.concat(chunks, size)
}

/** The body of a route that reads its request stream itself (a file upload). */
export const RAW_BODY = Object.freeze({ raw: true as const })

const invalidText = (where: string, field: string) =>
	new RequestError(400, 'VALIDATION_FAILED', `${where} is invalid: ${field} must be valid Unicode text without NUL characters`, [
		{ field, message: 'must be valid Unicode text without NUL characters' },
	])

/**
 * How request bodies and parameters enter the system. Bodies are JSON objects sent as
 * `application/json` (415 for any other type, so a cross-site form post is never read as a
 * login), at most `limitBytes` counted as they are read, chunked or not (413). Every string in the
 * body, the query and the path is valid Unicode without NUL, or the request is refused with 400
 * naming the field: such strings would otherwise fail deep in PostgreSQL. The routes in
 * `rawBodies` (a path → its own byte limit) take a file instead and read the stream themselves.
 */
export const inputPlugin = (limitBytes: number, rawBodies: Readonly<Record<string, number>> = {}) =>
	new Elysia({ name: 'input' })
		// Checked before anything is read; Bun's own cap sits above this limit (see createApp) and
		// answers an empty 413, so declared lengths get the JSON one here.
		.onRequest(({ request }) => {
			const limit = rawBodies[new URL(request.url).pathname] ?? limitBytes
			if (Number(request.headers.get('content-length') ?? 0) > limit) throw tooLarge(limit)
		})
		.onParse({ as: 'global' }, async ({ request, contentType, route }) => {
			// Routes that take a file stream it themselves, under their own limit.
			if (route in rawBodies) return RAW_BODY
			const bytes = await readLimited(request, limitBytes)
			// Null leaves the body unset: a route without a body schema ignores it, one with a schema refuses it.
			if (bytes.byteLength === 0) return null
			if (!JSON_TYPE.test(contentType ?? ''))
				throw new RequestError(415, 'UNSUPPORTED_MEDIA_TYPE', 'Send the body as JSON with Content-Type: application/json')
			let value: unknown
			try {
				value = JSON.parse(utf8.decode(bytes))
			} catch {
				throw new RequestError(400, 'MALFORMED_BODY', 'Request body is not valid JSON (UTF-8)')
			}
			if (typeof value !== 'object' || value === null || Array.isArray(value))
				throw new RequestError(400, 'MALFORMED_BODY', 'Request body must be a JSON object')
			const bad = badStringPath(value)
			if (bad) throw invalidText('Request body', bad)
			return value
		})
		.onBeforeHandle({ as: 'global' }, ({ query, params }) => {
			const inQuery = badStringPath(query)
			if (inQuery) throw invalidText('Query string', inQuery)
			const inPath = badStringPath(params)
			if (inPath) throw invalidText('Path', inPath)
		})
