import { type AnyElysia, Elysia, type ValidationError } from 'elysia'
import {
	ConflictError,
	DomainError,
	ForbiddenError,
	InvalidInputError,
	NotFoundError,
	RateLimitedError,
	UnauthenticatedError,
	UnprocessableError,
	UnsupportedMediaTypeError,
	UnavailableError,
	UpstreamError,
	UpstreamTimeoutError,
} from '../core/errors'
import type { ValueError } from '@sinclair/typebox/errors'
import { ValueErrorType } from '@sinclair/typebox/errors'
import { isDatabaseUnreachable } from '../db/errors'
import { PATTERN_MEANINGS } from '../lib/schema'
import type { Logger } from '../logger'
import type { AllowedMethods } from './allowed-methods'
import { notFoundPage, wantsPage } from './not-found-page'
import { RequestError } from './request-error'
import { errorModel } from './error-model'
import { unknownFieldsOfInvalid } from './unknown-fields'
import { clientIp } from './request-context'

/** The JSON body of every error response. */
export interface ErrorBody {
	error: { code: string; message: string; details?: unknown }
}

export function errorBody(code: string, message: string, details?: unknown): ErrorBody {
	return { error: details === undefined ? { code, message } : { code, message, details } }
}

/** The status of each kind of domain error: the one place services' refusals meet HTTP. */
const STATUS_OF: [abstract new (...args: never[]) => DomainError, number][] = [
	[InvalidInputError, 400],
	[UnauthenticatedError, 401],
	[ForbiddenError, 403],
	[NotFoundError, 404],
	[ConflictError, 409],
	[UnprocessableError, 422],
	[UnsupportedMediaTypeError, 415],
	[RateLimitedError, 429],
	[UpstreamError, 502],
	[UnavailableError, 503],
	[UpstreamTimeoutError, 504],
]

function domainErrorResponse(error: DomainError): Response {
	const status = STATUS_OF.find(([kind]) => error instanceof kind)?.[1] ?? 400
	const retryAfter = error instanceof RateLimitedError || error instanceof ConflictError ? error.retryAfterSeconds : undefined
	const headers: Record<string, string> = retryAfter === undefined ? {} : { 'retry-after': String(retryAfter) }
	return json(status, errorBody(error.code, error.message, error.details), headers)
}

/** The answer Elysia's types give every route with a schema: its own 422 validation body. */
interface ElysiaValidationAnswer {
	type: 'validation'
	on: string
}

/**
 * A route's answers with Elysia's 422 replaced by what the errors plugin sends instead: 400 and the
 * Error body, spelled out rather than named, so the client package's declaration of the routes
 * needs no import of this module.
 */
type AnswersOf<Res> = Res extends { 422: ElysiaValidationAnswer }
	? {
			[Status in Exclude<keyof Res, 422> | 400]: Status extends keyof Res
				? Res[Status]
				: { error: { code: string; message: string; details?: unknown } }
		}
	: Res

type RoutesAnswering400<Routes> = Routes extends { response: infer Res; body: unknown; params: unknown; query: unknown }
	? { [Key in keyof Routes]: Key extends 'response' ? AnswersOf<Res> : Routes[Key] }
	: { [Key in keyof Routes]: RoutesAnswering400<Routes[Key]> }

/**
 * `App` as its clients see it. Elysia's types add a 422 `{ type: 'validation', … }` answer to
 * every route with a schema, a body the server never sends: the errors plugin answers validation
 * failures with 400 and the Error body, and this type says so, for Eden and for the client package.
 */
export type ValidationAnswersAs400<App extends AnyElysia> = Elysia<
	App['~Prefix'],
	App['~Singleton'],
	App['~Definitions'],
	App['~Metadata'],
	RoutesAnswering400<App['~Routes']>,
	App['~Ephemeral'],
	App['~Volatile']
>

/** A JSON response as every error goes out. */
export function json(status: number, body: unknown, headers: Record<string, string> = {}): Response {
	return new Response(JSON.stringify(body), {
		status,
		headers: { 'content-type': 'application/json; charset=utf-8', ...headers },
	})
}

type Schema = {
	type?: string
	minimum?: number
	maximum?: number
	pattern?: string
	format?: string
	minLength?: number
	maxLength?: number
	minItems?: number
	maxItems?: number
	const?: unknown
	enum?: unknown[]
	anyOf?: Schema[]
	properties?: Record<string, Schema>
}

const numberWords = (s: Schema) => {
	const kind = s.type === 'integer' ? 'an integer' : 'a number'
	if (s.minimum !== undefined && s.maximum !== undefined) return `${kind} from ${s.minimum} to ${s.maximum}`
	if (s.minimum !== undefined) return `${kind} of at least ${s.minimum}`
	if (s.maximum !== undefined) return `${kind} of at most ${s.maximum}`
	return kind
}

/**
 * What a refused value should be, in words a client can act on, from the schema it failed:
 * "must be an integer from 1 to 200", "must be one of: png, svg", "must be a UUID". Null keeps
 * TypeBox's own message ("Expected string"), which is clear where these are not needed.
 */
function expectation(error: ValueError): string | null {
	const schema = error.schema as Schema
	// A missing field of a plain type fails only that type ("Expected string"), with no value.
	if (error.type === ValueErrorType.ObjectRequiredProperty || (error.value === undefined && error.path)) return 'is required'
	if (error.type === ValueErrorType.ObjectMinProperties) return `needs at least one of: ${Object.keys(schema.properties ?? {}).join(', ')}`
	const options = schema.anyOf?.filter((s) => s.type !== 'null') ?? [schema]
	const orNull = schema.anyOf?.some((s) => s.type === 'null') ? ' (or null)' : ''
	const numeric = [schema, ...options].find((s) => s.type === 'integer' || s.type === 'number')
	if (numeric) return `must be ${numberWords(numeric)}${orNull}`
	const choices = schema.enum ?? (options.every((s) => 'const' in s) ? options.map((s) => s.const) : null)
	if (choices) return `must be one of: ${choices.join(', ')}${orNull}`
	if (error.type === ValueErrorType.StringPattern && schema.pattern) return PATTERN_MEANINGS[schema.pattern] ?? null
	if (error.type === ValueErrorType.StringFormat && schema.format === 'uuid') return 'must be a UUID'
	if (error.type === ValueErrorType.StringFormat && schema.format === 'email') return 'must be an email address'
	if (error.type === ValueErrorType.StringMinLength)
		return schema.minLength === 1 ? 'must not be empty' : `must be at least ${schema.minLength} characters long`
	if (error.type === ValueErrorType.StringMaxLength) return `must be at most ${schema.maxLength} characters long${unitsCounted(error.value)}`
	if (error.type === ValueErrorType.ArrayMinItems) return schema.minItems === 1 ? 'must list at least one' : `must list at least ${schema.minItems}`
	if (error.type === ValueErrorType.ArrayMaxItems) return `must list at most ${schema.maxItems}`
	if (TYPE_ERRORS.has(error.type) && schema.type) return `must be ${typeWords(schema)}`
	// A value or null: TypeBox says only "Expected union value".
	if (error.type === ValueErrorType.Union && options.length === 1 && options[0]!.type) return `must be ${typeWords(options[0]!)}${orNull}`
	return null
}

/**
 * How a length was counted, when that differs from what a person counts: in UTF-16 units, as
 * JavaScript (and WhatsApp's apps) count, where most emoji count two. The count, not the value.
 */
function unitsCounted(value: unknown): string {
	if (typeof value !== 'string' || [...value].length === value.length) return ''
	return ` (counted in UTF-16 units, where most emoji count 2: this one counts ${value.length})`
}

const TYPE_ERRORS = new Set([ValueErrorType.String, ValueErrorType.Array, ValueErrorType.Object, ValueErrorType.Boolean])

/**
 * The error to word for a value that may be null, is not, and is of the right type: TypeBox
 * reports only the failed union ("Expected union value"), while what the value breaks is a
 * constraint of the other type (a string too long, a list item that is no UUID). That error names
 * the field and says what it should be, as it would where null is not allowed.
 */
function withoutNull(error: ValueError): ValueError {
	if (error.type !== ValueErrorType.Union || error.value === null) return error
	const variants = (error.schema as Schema).anyOf ?? []
	const others = variants.flatMap((s, i) => (s.type === 'null' ? [] : [i]))
	if (others.length !== 1) return error
	const inner = error.errors[others[0]!]?.First()
	return inner && !(TYPE_ERRORS.has(inner.type) && inner.path === error.path) ? inner : error
}

const typeWords = (s: Schema) =>
	({ string: 'a string', array: 'a list', object: 'an object', boolean: 'true or false' })[s.type!] ?? `of type ${s.type}`

/**
 * The query parameter a value checked on its own failed: Elysia checks a number in the query by
 * itself after converting it, and its error carries no path. The parameter whose number breaks
 * the schema's bounds is the one.
 */
function queryParameterFailing(request: Request, schema: Schema): string | null {
	for (const [name, value] of new URL(request.url).searchParams) {
		const n = Number(value)
		if (value.trim() === '' || Number.isNaN(n)) continue
		if ((schema.minimum !== undefined && n < schema.minimum) || (schema.maximum !== undefined && n > schema.maximum)) return name
		if (schema.type === 'integer' && !Number.isInteger(n)) return name
	}
	return null
}

/**
 * Field-level problems of a validation failure, one per field, without echoing the rejected
 * values. Resolves where it was (`body`, `query`, …) for a check that ran on one value alone.
 */
function validationDetails(error: Pick<ValidationError, 'all' | 'type'>, request: Request) {
	let where = error.type
	const details: { field: string; message: string }[] = []
	for (const failed of error.all) {
		if (!('path' in failed)) continue
		const e = withoutNull(failed)
		let field = e.path ? e.path.replace(/^\//, '').replaceAll('/', '.') : ''
		if (!field && error.type === 'property') {
			field = queryParameterFailing(request, e.schema as Schema) ?? ''
			if (field) where = 'query'
		}
		field ||= '(root)'
		// TypeBox's own message ("Expected string"), never Elysia's summary, which quotes the value
		// ("… but found: <the password>"): a rejected field may be a secret.
		if (!details.some((d) => d.field === field)) details.push({ field, message: expectation(e) ?? e.message })
	}
	return { where, details }
}

const WHERE: Record<string, string> = {
	body: 'Request body is',
	query: 'Query string is',
	params: 'Path is',
	headers: 'A request header is',
	cookie: 'Cookie is',
}

function toErrorResponse(
	code: string | number,
	error: unknown,
	request: Request,
	logger: Logger,
	requestId: unknown,
	methods: AllowedMethods | undefined,
): Response {
	// Elysia wraps whatever a body parser throws in its ParseError; the input plugin's refusals keep their own answer.
	if (code === 'PARSE' && (error as Error).cause instanceof RequestError) error = (error as Error).cause
	// A body invalid while it names a field its route lacks is refused for that field (a misspelling).
	if (code === 'VALIDATION') error = unknownFieldsOfInvalid(error as ValidationError, request) ?? error
	// A response failing its own schema is this server's fault (500, logged with where, not the values), not the request's.
	const failed = code === 'VALIDATION' && (error as ValidationError).type === 'response' ? (error as ValidationError).all : null
	if (failed) [code, error] = ['UNKNOWN', new Error(`a response failed its schema at ${failed.map((e) => ('path' in e && e.path) || '/')}`)]
	if (error instanceof DomainError) return domainErrorResponse(error)
	// The rest of a body too large to read is not read: closing tells the client to stop sending it.
	if (error instanceof RequestError)
		return json(error.status, errorBody(error.code, error.message, error.details), error.status === 413 ? { connection: 'close' } : {})
	switch (code) {
		case 'VALIDATION': {
			const { where, details } = validationDetails(error as ValidationError, request)
			const first = details[0]
			const message = `${WHERE[where] ?? 'Request is'} invalid${first ? `: ${first.field} ${first.message}` : ''}`
			return json(400, errorBody('VALIDATION_FAILED', message, details))
		}
		case 'PARSE':
			return json(400, errorBody('MALFORMED_BODY', 'Request body could not be parsed; send valid JSON with Content-Type: application/json'))
		case 'NOT_FOUND': {
			const path = new URL(request.url).pathname
			const allowed = methods?.of(path) ?? []
			// OPTIONS asks exactly this: which methods the path takes.
			if (allowed.length && request.method === 'OPTIONS') return new Response(null, { status: 204, headers: { allow: allowed.join(', ') } })
			// The path takes this method but nothing answered it: a WebSocket route asked without an upgrade.
			if (allowed.includes(request.method))
				return json(426, errorBody('UPGRADE_REQUIRED', `${path} is a WebSocket endpoint: connect to it with a WebSocket client (ws:// or wss://)`), {
					upgrade: 'websocket',
				})
			if (allowed.length)
				return json(
					405,
					errorBody('METHOD_NOT_ALLOWED', `${request.method} is not allowed on ${path}; it takes ${allowed.join(', ')}`, { allowed }),
					{ allow: allowed.join(', ') },
				)
			if (wantsPage(request)) return notFoundPage(path)
			return json(404, errorBody('ROUTE_NOT_FOUND', `No route for ${request.method} ${path}`))
		}
		case 'INVALID_COOKIE_SIGNATURE':
			return json(401, errorBody('UNAUTHORIZED', 'Invalid cookie'))
	}
	const status = error && typeof error === 'object' && 'status' in error && typeof error.status === 'number' ? error.status : 500
	if (status === 413) return json(413, errorBody('PAYLOAD_TOO_LARGE', 'Request body is too large'))
	if (status >= 400 && status < 500) return json(status, errorBody('BAD_REQUEST', error instanceof Error ? error.message : 'Bad request'))
	// The client went away (or sent a body Bun could not frame) while the body was read: nothing
	// failed here, and nobody is left to answer.
	if (request.signal.aborted) {
		logger.info({ reqId: requestId, method: request.method, path: new URL(request.url).pathname }, 'request ended by the client before it was read')
		return json(400, errorBody('REQUEST_ABORTED', 'The connection closed before the request was read'))
	}
	if (isDatabaseUnreachable(error)) {
		logger.warn({ err: error, reqId: requestId, method: request.method, url: new URL(request.url).pathname }, 'database unreachable')
		return json(503, errorBody('DATABASE_UNAVAILABLE', 'The database cannot be reached just now; try again shortly'), { 'retry-after': '5' })
	}
	logger.error({ err: error, reqId: requestId, method: request.method, url: new URL(request.url).pathname }, 'unhandled error')
	return json(500, errorBody('INTERNAL', 'Internal server error'))
}

/**
 * The single place that turns failures into the `{ error: { code, message, details? } }` body.
 * Elysia's defaults (422 validation dumps, plain-text parse errors and 404s) never reach a client;
 * unhandled exceptions are logged with their stack and answered with a bare 500.
 */
export const errorsPlugin = (logger: Logger, trustProxyHops: number, methods?: AllowedMethods) =>
	new Elysia({ name: 'errors' })
		.use(errorModel)
		.error({ DomainError, RequestError })
		// Without a usable Host header Bun hands over a bare path for the URL, which nothing after
		// this point can parse: refused here, before any route or hook reads it.
		.onRequest(({ request, set }) => {
			const url = URL.parse(request.url)
			if (!url) {
				set.status = 400
				return errorBody('BAD_REQUEST', 'The request needs a Host header naming this server (a host name or address, and a port from 1 to 65535)')
			}
			// Elysia finds the path from the 12th character of the URL on (after `http://` and at least
			// 4 of the host): a shorter host would be routed by a part of its path (`/ab/sessions` as `/sessions`).
			const { host } = url
			if (host.length < 4) {
				set.status = 400
				return errorBody(
					'BAD_REQUEST',
					`The Host header \`${host}\` is too short for this server to route by: reach it by a name (and port) of 4 characters or more`,
				)
			}
		})
		.onError({ as: 'global' }, ({ code, error, request, set, server }) => {
			const response = toErrorResponse(code, error, request, logger, set.headers['x-request-id'], methods)
			set.status = response.status
			// Refused credentials and spent limits are what an attack looks like: the operator sees
			// them, with the reason and the client address, never what was presented.
			if (response.status === 401 || response.status === 429)
				logger.info(
					{
						reqId: set.headers['x-request-id'],
						method: request.method,
						path: new URL(request.url).pathname,
						status: response.status,
						reason: error instanceof DomainError || error instanceof RequestError ? error.code : String(code),
						address: clientIp(request, server, trustProxyHops),
						...(error instanceof UnauthenticatedError ? error.logged : undefined),
					},
					response.status === 401 ? 'request refused: not authenticated' : 'request refused: rate limited',
				)
			return response
		})
