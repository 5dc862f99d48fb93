/**
 * The one error type services throw. The errors plugin turns it into
 * `{ error: { code, message, details? } }` with `status`; anything else becomes a 500.
 */
export class AppError extends Error {
	constructor(
		readonly status: number,
		readonly code: string,
		message: string,
		readonly details?: unknown,
		/** Extra response headers, e.g. Retry-After on 429. */
		readonly headers?: Record<string, string>,
	) {
		super(message)
		this.name = 'AppError'
	}
}

export const badRequest = (message: string, details?: unknown) => new AppError(400, 'BAD_REQUEST', message, details)
export const unauthorized = (message = 'Authentication required') => new AppError(401, 'UNAUTHORIZED', message)
export const forbidden = (code: string, message: string) => new AppError(403, code, message)
export const notFound = (what = 'Resource') => new AppError(404, 'NOT_FOUND', `${what} not found`)
export const conflict = (code: string, message: string, details?: unknown) => new AppError(409, code, message, details)
export const tooManyRequests = (retryAfterSeconds: number) =>
	new AppError(429, 'RATE_LIMITED', `Too many requests; retry in ${retryAfterSeconds} s`, { retryAfterSeconds }, {
		'retry-after': String(retryAfterSeconds),
	})

/** The JSON body of every error response. */
export interface ErrorBody {
	error: { code: string; message: string; details?: unknown }
}

export function errorBody(code: string, message: string, details?: unknown): ErrorBody {
	return { error: details === undefined ? { code, message } : { code, message, details } }
}
