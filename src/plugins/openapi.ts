import { toOpenAPISchema, unwrapSchema } from '@elysiajs/openapi/openapi'
import { type AnyElysia, Elysia, type InternalRoute, type TSchema } from 'elysia'
import { UNCOUNTED } from './auth'

/**
 * The OpenAPI 3.1 document at /swagger/json. `@elysiajs/openapi` turns the routes into paths and
 * the models into schemas (`@elysiajs/swagger` is deprecated upstream and leaves WebSocket routes
 * out); this plugin serves the result after repairing what that generator gets wrong for this app,
 * so that the document passes `redocly lint`:
 *
 * - request bodies: the input plugin's own body parser hides the schema from the generator (it
 *   writes `content: {}`); the server reads JSON only, so each body is `application/json`.
 * - answers without a body (204): the generator writes `content: { type: 'void' }`, which is not a
 *   media type map; they get no `content`.
 * - the WebSocket route: 3.1 has no `ws` method, so it is the GET that upgrades (101), with the
 *   messages it sends under `x-websocket`.
 * - operation ids: `postAuthLogout-all` becomes `postAuthLogoutAll`.
 * - nullable enums: the generator folds `anyOf: [{enum}, {type: 'null'}]` into `type: [..., 'null']`
 *   and keeps the `enum` without `null`, which then refuses the null it allows; null joins the enum.
 * - answers every route of a kind gives, declared once here: 429 with `Retry-After` where a
 *   credential is taken (the per-key and per-user limits), 413 and 415 on a route without a body
 *   (the input plugin still reads one that is sent).
 * - optional bodies: the generator marks every body required; a route whose body may be left out
 *   says so (`OPTIONAL_BODY`).
 * - numbers: the generator writes Elysia's numeric type (which also takes a numeric string) as
 *   `anyOf` a string with a `default` of 0 and the number; it is the number.
 * - named models: the generator copies a model wherever another embeds it (`Chat` inside
 *   `ChatPage`); each copy becomes a `$ref` to the model, so the document names it once. The
 *   models' `$id: '#/components/schemas/…'` (Elysia's handle for them) goes: JSON Schema 2020-12
 *   forbids a fragment in `$id`, and Swagger UI then fails to resolve every `$ref`.
 *
 * The subpath `@elysiajs/openapi/openapi` is imported on purpose: the package's main entry
 * replaces TypeBox's string formats (uuid, email, ipv4, …) process-wide with checks ~50x
 * slower than Elysia's, and this one does not.
 */

type Json = Record<string, unknown>
interface Operation extends Json {
	operationId?: string
	requestBody?: Json
	responses?: Record<string, Json>
	security?: Json[]
	parameters?: Json[]
}

const INFO = {
	title: 'Switchboard API',
	version: '0.1.0',
	description: 'Multi-tenant WhatsApp Web sessions: REST + realtime WebSocket. Errors are `{ error: { code, message, details? } }`.',
}

const TAGS = [
	{ name: 'health', description: 'Liveness and readiness probes' },
	{ name: 'users', description: 'Sign-up, email verification and the signed-in user' },
	{ name: 'auth', description: 'Log in, refresh, log out, password reset' },
	{ name: 'api-keys', description: 'API keys for servers and integrations: create, list, revoke' },
	{ name: 'sessions', description: 'WhatsApp sessions: create, pair, start, stop, delete, send' },
	{ name: 'webhooks', description: 'Webhook endpoints: signed, ordered, durable delivery of events to your URLs; delivery log, retry, replay' },
	{ name: 'chats', description: 'Chats and their messages' },
	{ name: 'contacts', description: 'Contacts of a session' },
	{ name: 'groups', description: 'Groups of a session: their members, and managing them' },
	{ name: 'media', description: 'Files: upload to send, download what was received' },
	{ name: 'realtime', description: 'Live events over a WebSocket' },
]

const SECURITY_SCHEMES = {
	bearer: { type: 'http', scheme: 'bearer', bearerFormat: 'JWT', description: 'The access token from POST /auth/login or /auth/refresh' },
	apiKey: {
		type: 'http',
		scheme: 'bearer',
		bearerFormat: 'sbk_…',
		description: 'An API key from POST /api-keys in `Authorization: Bearer`; the listed role is the scope the key needs',
	},
	apiKeyHeader: {
		type: 'apiKey',
		in: 'header',
		name: 'X-Api-Key',
		description: 'An API key from POST /api-keys in `X-Api-Key`; the listed role is the scope the key needs',
	},
	accessTokenQuery: {
		type: 'apiKey',
		in: 'query',
		name: 'accessToken',
		description: 'The access token in the URL: for the WebSocket only, since browsers cannot set headers on one',
	},
}

/** What each error status means here, for answers whose route names no description of its own. */
const STATUS_DESCRIPTIONS: Record<string, string> = {
	'200': 'OK',
	'201': 'Created',
	'202': 'Accepted',
	'204': 'No content',
	'400': 'Bad request: `VALIDATION_FAILED` (details name each field), `MALFORMED_BODY`, or a code named in the description',
	'401':
		'Not authenticated: `UNAUTHORIZED` (missing, invalid, expired or revoked access token), `INVALID_API_KEY` (unknown, malformed or revoked API key), or a code named in the description',
	'403':
		'Forbidden: `INSUFFICIENT_SCOPE` (an API key without the scope in `x-required-scope`), `USER_REQUIRED` (an API key on a route for signed-in users), or a code named in the description',
	'404': 'Not found',
	'409': 'Conflict',
	'413': '`PAYLOAD_TOO_LARGE`: the body is larger than `BODY_LIMIT_BYTES`',
	'415': '`UNSUPPORTED_MEDIA_TYPE`: send the body as JSON with `Content-Type: application/json`',
	'422': 'Unprocessable',
	'429': '`RATE_LIMITED`: try again after `Retry-After` seconds',
	'503': 'Not ready',
}

/**
 * In a route's `detail`: its body may be left out (it then reads as `{}`, which the route takes).
 * Routes whose `{}` is refused (a message needs its content) keep the body required.
 */
export const OPTIONAL_BODY = 'x-optional-body'

const ERROR_CONTENT = { 'application/json': { schema: { $ref: '#/components/schemas/Error' } } }
const RETRY_AFTER = { 'Retry-After': { description: 'Seconds to wait before trying again', schema: { type: 'integer', minimum: 1 } } }

/** Answers a route gives because of how it is reached, whatever its own declares (see the list above). */
function addCommonAnswers(method: string, operation: Operation) {
	const responses = (operation.responses ??= {})
	const security = (operation.security ?? []) as Json[]
	const byKey = security.some((scheme) => 'apiKey' in scheme || 'apiKeyHeader' in scheme)
	const limits = [
		...(byKey ? ['this API key (`API_KEY_RATE_LIMIT` a minute)'] : []),
		...(security.length && !operation[UNCOUNTED] ? ["this user's access tokens (`USER_RATE_LIMIT` a minute on each instance)"] : []),
	]
	// A WebSocket refused by a rate limit is closed with 4429 after its upgrade, not answered 429.
	if (limits.length && !operation['x-websocket'])
		responses['429'] ??= {
			description: `\`RATE_LIMITED\`: too many requests with ${limits.join(' or ')}, or a limit named in the description`,
			content: ERROR_CONTENT,
		}
	if (responses['429']) responses['429'].headers ??= RETRY_AFTER
	if (!operation.requestBody && ['post', 'put', 'patch', 'delete'].includes(method)) {
		responses['413'] ??= { description: STATUS_DESCRIPTIONS['413'], content: ERROR_CONTENT }
		responses['415'] ??= { description: STATUS_DESCRIPTIONS['415'], content: ERROR_CONTENT }
	}
}

/** Every schema of Elysia's numeric type, in parameters, bodies and answers, as the number it is (see the list above). */
function collapseNumericStrings(node: unknown): void {
	if (!node || typeof node !== 'object') return
	const schema = node as Json
	const options = schema.anyOf as Json[] | undefined
	const number = options?.find((o) => o.type === 'integer' || o.type === 'number')
	if (options?.length === 2 && number && options.some((o) => o.type === 'string' && (o.format === 'integer' || o.format === 'numeric'))) {
		delete schema.anyOf
		Object.assign(schema, number)
	}
	for (const value of Object.values(schema)) collapseNumericStrings(value)
}

const openapiPath = (path: string) => path.replace(/:([^/]+)/g, '{$1}')
/** A JSON Schema without TypeBox's symbol keys and with nothing shared with the models. */
const plain = (schema: unknown) => JSON.parse(JSON.stringify(schema)) as Json

/** Every route of the whole app. Elysia keeps that list behind a protected method, which the generator reads too. */
const appRoutes = (plugin: AnyElysia) => (plugin as unknown as { getGlobalRoutes(): InternalRoute[] }).getGlobalRoutes()

/** Replaces every copy of a model's schema, below the model itself, by a `$ref` to the model, and drops Elysia's `$id`s. */
function foldModels(paths: Json, schemas: Json) {
	const names = new Map(Object.entries(schemas).map(([name, schema]) => [JSON.stringify(schema), name]))
	const fold = (node: unknown, self?: string): unknown => {
		if (Array.isArray(node)) return node.map((item) => fold(item))
		if (!node || typeof node !== 'object') return node
		const name = names.get(JSON.stringify(node))
		if (name && name !== self) return { $ref: `#/components/schemas/${name}` }
		const entries = Object.entries(node).filter(([key, value]) => !(key === '$id' && typeof value === 'string' && value.startsWith('#')))
		return Object.fromEntries(entries.map(([key, value]) => [key, fold(value)]))
	}
	for (const [name, schema] of Object.entries(schemas)) schemas[name] = fold(schema, name)
	for (const [path, operations] of Object.entries(paths)) paths[path] = fold(operations)
}

/** Adds `null` to the `enum` of every schema whose `type` allows null (see the list above). */
function admitNullToEnums(node: unknown): void {
	if (!node || typeof node !== 'object') return
	const schema = node as Json
	if (Array.isArray(schema.type) && schema.type.includes('null') && Array.isArray(schema.enum) && !schema.enum.includes(null)) schema.enum.push(null)
	for (const value of Object.values(schema)) admitNullToEnums(value)
}

function repairResponses(operation: Operation) {
	for (const [status, response] of Object.entries(operation.responses ?? {})) {
		const content = response.content as Json | undefined
		if (content && Object.keys(content).some((type) => !type.includes('/'))) delete response.content
		if (typeof response.description !== 'string' || response.description.startsWith('Response for status '))
			response.description = STATUS_DESCRIPTIONS[status] ?? `Status ${status}`
	}
}

function webSocketOperation(operation: Operation, messages: Json | undefined): Operation {
	return {
		...operation,
		operationId: operation.operationId?.replace(/^ws/, 'get'),
		responses: {
			'101': { description: 'Switching Protocols: the WebSocket is open; see `x-websocket` for the messages it carries' },
			'400': { description: '`VALIDATION_FAILED`: a query value is not valid Unicode or holds NUL', content: ERROR_CONTENT },
			'426': { description: '`UPGRADE_REQUIRED`: the request is not a WebSocket upgrade', content: ERROR_CONTENT },
		},
		'x-websocket': { direction: 'server to client only; what a client sends is ignored', messages },
	}
}

/** The document of every route of the app `plugin` belongs to (typed loosely: its route's type reaches the Eden client). */
export function openapiDocument(plugin: AnyElysia): Json {
	// A copy: the generator hands out the routes' own `detail` objects, which the repairs must not change.
	const { paths, components } = plain(toOpenAPISchema(plugin, undefined, undefined, undefined, '3.1.2')) as {
		paths: Record<string, Record<string, Operation>>
		components: { schemas: Json }
	}
	for (const route of appRoutes(plugin)) {
		const operations = paths[openapiPath(route.path)]
		const method = route.method.toLowerCase()
		const operation = operations?.[method]
		if (!operations || !operation) continue
		if (route.hooks?.body && operation.requestBody) {
			const schema = unwrapSchema(route.hooks.body, undefined, 'input', '3.1.2')
			operation.requestBody = { required: !operation[OPTIONAL_BODY], content: { 'application/json': { schema: plain(schema) } } }
			delete operation[OPTIONAL_BODY]
		}
		if (method === 'ws') {
			delete operations.ws
			// Elysia keeps a WebSocket route's schemas under `hooks.websocket`.
			const sent = (route.hooks?.websocket as { response?: TSchema } | undefined)?.response
			const messages = sent && unwrapSchema(sent, undefined, 'output', '3.1.2')
			operations.get = webSocketOperation(operation, messages && plain(messages))
		}
	}
	for (const operations of Object.values(paths))
		for (const [method, operation] of Object.entries(operations)) {
			operation.operationId = operation.operationId?.replace(/-(\w)/g, (_, c: string) => c.toUpperCase())
			addCommonAnswers(method, operation)
			repairResponses(operation)
		}
	collapseNumericStrings(paths)
	collapseNumericStrings(components.schemas)
	admitNullToEnums(paths)
	admitNullToEnums(components.schemas)
	foldModels(paths, components.schemas)
	return {
		openapi: '3.1.2',
		info: INFO,
		// Relative: the API is where the document is, whatever host or port it is reached at.
		servers: [{ url: '/', description: 'This server' }],
		tags: TAGS,
		paths,
		components: { securitySchemes: SECURITY_SCHEMES, schemas: components.schemas },
	}
}

/** Serves the document, built on first request and again whenever routes were added since. */
export const openapiPlugin = () => {
	const plugin = new Elysia({ name: 'openapi' })
	let built: { routes: number; document: Json } | undefined
	return plugin.get(
		'/swagger/json',
		() => {
			const routes = appRoutes(plugin).length
			if (built?.routes !== routes) built = { routes, document: openapiDocument(plugin) }
			return built.document
		},
		{ detail: { hide: true } },
	)
}
