import { Elysia } from 'elysia'
import { badStringPath } from '../lib/text'
import { RequestError } from './request-error'
import { refuseUnreadBody, UnreadBody } from './unread-body'
import { sentFields, unknownFields } from './unknown-fields'

/** What the app's routes declare, as `${method} ${path}`: routes without a body, each route's query parameters, routes behind a credential check. */
export interface AppRoutes {
	bodiless: ReadonlySet<string>
	queries: ReadonlyMap<string, ReadonlySet<string>>
	guarded: ReadonlySet<string>
}

const JSON_TYPE = /^application\/(?:[\w.+-]+\+)?json\s*(?:;|$)/i
const utf8 = new TextDecoder('utf-8', { fatal: true })

/** What a multipart form may add around its file: boundaries, part headers, and the few small fields the upload reads past. */
export const FORM_OVERHEAD_BYTES = 128 * 1024

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

/** Below this depth no route's schema names fields: a key deeper down is not looked at on its own. */
const FIELD_DEPTH = 8

/** Where each key of a body sits (`poll.options`, `contacts[0].name`), parents before their children. */
function fieldPaths(value: unknown, at = '', depth = 0, into: string[] = []): string[] {
	if (depth >= FIELD_DEPTH || typeof value !== 'object' || value === null) return into
	const array = Array.isArray(value)
	for (const [key, inner] of Object.entries(value)) {
		const path = array ? `${at}[${key}]` : at ? `${at}.${key}` : key
		into.push(path)
		fieldPaths(inner, path, depth + 1, into)
	}
	return into
}

/** The fields a body was sent with that validation dropped: only the outermost of each (`extra`, not `extra.a`). */
function droppedFields(sent: readonly string[], validated: unknown): string[] {
	const kept = new Set(fieldPaths(validated))
	const gone = new Set<string>()
	const dropped: string[] = []
	for (const path of sent) {
		if (kept.has(path)) continue
		gone.add(path)
		const parent = path.slice(0, Math.max(path.lastIndexOf('.'), path.lastIndexOf('['), 0))
		if (!gone.has(parent)) dropped.push(path)
	}
	return dropped
}

/** Whether `%…` escapes decode to UTF-8 text (`%FF` and a lone surrogate's `%ED%A0%80` do not). */
function decodes(escaped: string): boolean {
	try {
		decodeURIComponent(escaped)
		return true
	} catch {
		return false
	}
}

/**
 * What the URL itself gets wrong, before Elysia reads it: escapes that are not UTF-8 in a query
 * value or a path parameter of `route` (Elysia keeps such a value as its raw text, `%FF`, which
 * would then be searched for as if it were meant), a query parameter given twice (Elysia keeps
 * the last one without a word; no parameter takes a list), and a number of the validated `query`
 * written other than in decimal digits (Elysia reads it with `Number()`, which takes `0x10`, `1e2`
 * and spaces). The rest of the path is the router's: a dashboard page takes any path below
 * `/app/` and says itself that it has no such page.
 */
function refusedUrl(url: string, path: string, route: string, query: Record<string, unknown>, known?: ReadonlySet<string>): RequestError | null {
	const at = url.indexOf('?')
	const seen = new Set<string>()
	for (const pair of at < 0 ? [] : url.slice(at + 1).split('&')) {
		if (!pair) continue
		const at = pair.indexOf('=')
		const name = (at < 0 ? pair : pair.slice(0, at)).replaceAll('+', ' ')
		const value = at < 0 ? '' : pair.slice(at + 1)
		if (!decodes(name)) return invalidText('Query string', 'a parameter name')
		const field = decodeURIComponent(name)
		if (!decodes(value.replaceAll('+', ' '))) return invalidText('Query string', field)
		if (seen.has(field))
			return new RequestError(400, 'VALIDATION_FAILED', `Query string is invalid: ${field} is given more than once`, [
				{ field, message: 'is given more than once' },
			])
		seen.add(field)
		const sent = decodeURIComponent(value.replaceAll('+', ' '))
		if (typeof query[field] === 'number' && !/^-?\d+(?:\.\d+)?$/.test(sent)) {
			const message = `must be written in decimal digits (not \`${sent.slice(0, 32)}\`)`
			return new RequestError(400, 'VALIDATION_FAILED', `Query string is invalid: ${field} ${message}`, [{ field, message }])
		}
	}
	const segments = path.split('/')
	for (const [i, part] of route.split('/').entries())
		if (part.startsWith(':') && !decodes(segments[i] ?? '')) return invalidText('Path', part.slice(1))
	const unknown = known ? [...seen].filter((field) => !known.has(field)) : []
	return unknown.length ? unknownFields(unknown, 'query string') : null
}

/** The bytes of a JSON body as the object every route takes; an empty body reads as `{}`. */
function parseJsonObject(bytes: Uint8Array, contentType: string | undefined): Record<string, unknown> {
	// No body reads as `{}`: a route whose fields are all optional (`POST /sessions`) takes it as
	// its defaults, one with required fields names them, and a route without a body ignores it.
	if (bytes.byteLength === 0) return {}
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
	return value as Record<string, unknown>
}

/**
 * How request bodies and parameters enter the system. Bodies are JSON objects sent as
 * `application/json` (415 for any other type, so a cross-site form post is never read as a
 * login), at most `limitBytes` counted as they are read, chunked or not (413). Every string in the
 * body, the query and the path is valid Unicode without NUL, or the request is refused with 400
 * naming the field: such strings would otherwise fail deep in PostgreSQL. Numbers in the query are
 * decimal digits. A body naming a field its route does not have is refused (400 `UNKNOWN_FIELD`),
 * as is a query parameter a route that declares its parameters (`queries`) does not have: Elysia
 * drops such fields without a word, so a misspelt one (`captoin`, `?fro=me`) would otherwise be
 * ignored while the request succeeds. The
 * fields sent are noted before validation and compared with what it kept, after the route's auth
 * check (which runs in `transform`) has answered; a body that cannot be read waits for that check
 * too (see UnreadBody). A route without a body refuses every field sent
 * to it the same way (`POST …/invite {"revoke": true}` would otherwise fetch the link and revoke
 * nothing). `routes` says what the app's routes declare, filled in once every route is known
 * (see `bodilessRoutes`, `queryParameters`, `guardedRoutes`). The routes in `rawBodies` (a path →
 * its own byte limit) take a file instead and read the stream themselves.
 */
export const inputPlugin = (
	limitBytes: number,
	rawBodies: Readonly<Record<string, number>> = {},
	routes: AppRoutes = { bodiless: new Set(), queries: new Map(), guarded: new Set() },
) => {
	return (
		new Elysia({ name: 'input' })
			// Checked before anything is read: a declared length over the limit is refused at once (Bun's
			// own cap is lifted, see createApp, so every size gets this JSON 413).
			.onRequest(({ request }) => {
				const raw = rawBodies[new URL(request.url).pathname]
				// A file in a form comes with the form around it: a file within its limit is not refused for that.
				const form = raw !== undefined && /^multipart\/form-data/i.test(request.headers.get('content-type') ?? '')
				const limit = raw === undefined ? limitBytes : raw + (form ? FORM_OVERHEAD_BYTES : 0)
				if (Number(request.headers.get('content-length') ?? 0) > limit) throw tooLarge(limit)
			})
			.onParse({ as: 'global' }, async ({ request, contentType, route }) => {
				// Routes that take a file stream it themselves, under their own limit.
				if (route in rawBodies) return RAW_BODY
				try {
					return parseJsonObject(await readLimited(request, limitBytes), contentType)
				} catch (err) {
					// Answered after the route's credential check (see UnreadBody); a body too large is not read at all.
					if (!(err instanceof RequestError) || err.status === 413) throw err
					return new UnreadBody(err)
				}
			})
			.onTransform({ as: 'global' }, ({ request, body, route }) => {
				if (!routes.guarded.has(`${request.method} ${route}`)) refuseUnreadBody(body)
				// An unread body of a guarded route is refused by its credential check, after this.
				if (typeof body === 'object' && body !== null && body !== RAW_BODY && !(body instanceof UnreadBody)) sentFields.set(request, fieldPaths(body))
			})
			.onBeforeHandle({ as: 'global' }, ({ request, path, route, body, query, params }) => {
				// Elysia's `path` is the URL's path as sent, escapes and all.
				const inUrl = refusedUrl(request.url, path, route, query, routes.queries.get(`${request.method} ${route}`))
				if (inUrl) throw inUrl
				const inQuery = badStringPath(query)
				if (inQuery) throw invalidText('Query string', inQuery)
				const inPath = badStringPath(params)
				if (inPath) throw invalidText('Path', inPath)
				const sent = sentFields.get(request)
				if (sent?.length && routes.bodiless.has(`${request.method} ${route}`)) throw unknownFields(sent.filter((field) => !/[.[]/.test(field)))
				const dropped = sent ? droppedFields(sent, body) : []
				if (dropped.length) throw unknownFields(dropped)
			})
	)
}

/**
 * The query parameters of each route that declares some (`GET /chats` → limit, cursor, …). A route
 * without a query schema takes any: a cache-busting parameter on a picture's URL stays harmless.
 */
export function queryParameters(routes: readonly { method: string; path: string; hooks?: { query?: unknown } }[]): Map<string, Set<string>> {
	const out = new Map<string, Set<string>>()
	for (const route of routes) {
		const properties = (route.hooks?.query as { properties?: Record<string, unknown> } | undefined)?.properties
		// A WebSocket route is asked for with the GET that upgrades.
		if (properties) out.set(`${route.method === 'WS' ? 'GET' : route.method} ${route.path}`, new Set(Object.keys(properties)))
	}
	return out
}

/** The routes (`POST /path/:param`) of methods that may carry a body but whose route declares none. */
export function bodilessRoutes(routes: readonly { method: string; path: string; hooks?: { body?: unknown } }[]): Set<string> {
	return new Set(routes.filter((r) => ['POST', 'PUT', 'PATCH', 'DELETE'].includes(r.method) && !r.hooks?.body).map((r) => `${r.method} ${r.path}`))
}
