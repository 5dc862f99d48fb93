import { type AnyElysia, Elysia, t, type ValidationError } from 'elysia'
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
import type { Logger } from '../logger'
import { notFoundPage, wantsPage } from './not-found-page'
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
	const headers: Record<string, string> = error instanceof RateLimitedError ? { 'retry-after': String(error.retryAfterSeconds) } : {}
	return json(status, errorBody(error.code, error.message, error.details), headers)
}

/**
 * A request refused before any service sees it (its encoding, size or media type): plugins throw
 * it with the status it gets. Services throw domain errors instead.
 */
export class RequestError extends Error {
	constructor(
		readonly status: number,
		readonly code: string,
		message: string,
		readonly details?: unknown,
	) {
		super(message)
		this.name = 'RequestError'
	}
}

/** OpenAPI model of every error response. */
const ErrorModel = t.Object({
	error: t.Object({
		code: t.String({ examples: ['VALIDATION_FAILED'] }),
		message: t.String(),
		details: t.Optional(t.Unknown()),
	}),
})

/** Registers the `Error` reference model; modules `.use()` it to write `response: { 404: 'Error' }`. */
export const errorModel = new Elysia({ name: 'error-model' }).model({ Error: ErrorModel })

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

function json(status: number, body: unknown, headers: Record<string, string> = {}): Response {
	return new Response(JSON.stringify(body), {
		status,
		headers: { 'content-type': 'application/json; charset=utf-8', ...headers },
	})
}

/** Field-level problems of a validation failure, without echoing the rejected values. */
function validationDetails(error: Pick<ValidationError, 'all'>) {
	// TypeBox's own message ("Expected string"), never Elysia's summary, which quotes the value
	// ("… but found: <the password>"): a rejected field may be a secret.
	return error.all.map((e) => ({
		field: 'path' in e && e.path ? e.path.replace(/^\//, '').replaceAll('/', '.') || '(root)' : '(root)',
		message: e.message,
	}))
}

const WHERE: Record<string, string> = {
	body: 'Request body',
	query: 'Query string',
	params: 'Path',
	headers: 'Headers',
	cookie: 'Cookie',
}

function toErrorResponse(code: string | number, error: unknown, request: Request, logger: Logger, requestId: unknown): Response {
	// Elysia wraps whatever a body parser throws in its ParseError; the input plugin's refusals keep their own answer.
	if (code === 'PARSE' && (error as Error).cause instanceof RequestError) error = (error as Error).cause
	if (error instanceof DomainError) return domainErrorResponse(error)
	if (error instanceof RequestError) return json(error.status, errorBody(error.code, error.message, error.details))
	switch (code) {
		case 'VALIDATION': {
			const v = error as ValidationError
			const details = validationDetails(v)
			const first = details[0]
			const message = `${WHERE[v.type] ?? 'Request'} is invalid${first ? `: ${first.field} ${first.message}` : ''}`
			return json(400, errorBody('VALIDATION_FAILED', message, details))
		}
		case 'PARSE':
			return json(400, errorBody('MALFORMED_BODY', 'Request body could not be parsed; send valid JSON with Content-Type: application/json'))
		case 'NOT_FOUND':
			if (wantsPage(request)) return notFoundPage(new URL(request.url).pathname)
			return json(404, errorBody('ROUTE_NOT_FOUND', `No route for ${request.method} ${new URL(request.url).pathname}`))
		case 'INVALID_COOKIE_SIGNATURE':
			return json(401, errorBody('UNAUTHORIZED', 'Invalid cookie'))
	}
	const status = error && typeof error === 'object' && 'status' in error && typeof error.status === 'number' ? error.status : 500
	if (status === 413) return json(413, errorBody('PAYLOAD_TOO_LARGE', 'Request body is too large'))
	if (status >= 400 && status < 500) return json(status, errorBody('BAD_REQUEST', error instanceof Error ? error.message : 'Bad request'))
	logger.error({ err: error, reqId: requestId, method: request.method, url: new URL(request.url).pathname }, 'unhandled error')
	return json(500, errorBody('INTERNAL', 'Internal server error'))
}

/**
 * The single place that turns failures into the `{ error: { code, message, details? } }` body.
 * Elysia's defaults (422 validation dumps, plain-text parse errors and 404s) never reach a client;
 * unhandled exceptions are logged with their stack and answered with a bare 500.
 */
export const errorsPlugin = (logger: Logger, trustProxyHops: number) =>
	new Elysia({ name: 'errors' })
		.use(errorModel)
		.error({ DomainError, RequestError })
		.onError({ as: 'global' }, ({ code, error, request, set, server }) => {
			const response = toErrorResponse(code, error, request, logger, set.headers['x-request-id'])
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
