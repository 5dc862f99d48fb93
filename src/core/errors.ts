/**
 * What a service refuses, by kind. Services throw these and know nothing of HTTP; the errors
 * plugin maps each kind to a status and the `{ error: { code, message, details? } }` body. `code`
 * is the stable machine name clients branch on, `message` says what to do about it.
 */
export abstract class DomainError extends Error {
	constructor(
		readonly code: string,
		message: string,
		readonly details?: unknown,
	) {
		super(message)
		this.name = new.target.name
	}
}

/** The input is malformed or not acceptable as given. */
export class InvalidInputError extends DomainError {}

/** The caller is not (or no longer) authenticated: missing, invalid, expired or revoked credentials. */
export class UnauthenticatedError extends DomainError {
	constructor(
		code: string,
		message: string,
		details?: unknown,
		/** What the log line of the refusal adds (a reason, a key's public prefix); never sent to the client, never a secret. */
		readonly logged?: Record<string, unknown>,
	) {
		super(code, message, details)
	}
}

/** The caller is known but may not do this yet or at all. */
export class ForbiddenError extends DomainError {}

/** No such thing for this caller: absent, deleted, or another tenant's, alike. */
export class NotFoundError extends DomainError {
	static of(what: string) {
		return new NotFoundError('NOT_FOUND', `${what} not found`)
	}
}

/** The thing is in a state that does not allow this now (not connected, limit reached, taken). */
export class ConflictError extends DomainError {
	constructor(
		code: string,
		message: string,
		details?: unknown,
		/** When the state passes on its own (a session that is reconnecting): seconds after which to ask again, sent as Retry-After. */
		readonly retryAfterSeconds?: number,
	) {
		super(code, message, details)
	}
}

/** Well-formed, but contradicts what was asked before (an idempotency key reused for another request). */
export class UnprocessableError extends DomainError {}

/** The file is of a type this use of it does not take (a voice note that is not ogg/opus, a sticker that is not webp). */
export class UnsupportedMediaTypeError extends DomainError {}

/** Something the request needs is not there to answer now (no runner holds the session); try again later. */
export class UnavailableError extends DomainError {}

/** WhatsApp (through the session's runner) could not do what was asked. */
export class UpstreamError extends DomainError {}

/** Nobody answered in time: the session's runner is down, busy or being replaced. */
export class UpstreamTimeoutError extends DomainError {}

/** Too many attempts; the caller may try again after `retryAfterSeconds`. */
export class RateLimitedError extends DomainError {
	/** `what`: whose requests were too many, when the limit says ("with this API key (API_KEY_RATE_LIMIT)"). */
	constructor(
		readonly retryAfterSeconds: number,
		what?: string,
	) {
		super('RATE_LIMITED', `Too many requests${what ? ` ${what}` : ''}; retry in ${retryAfterSeconds} s`, { retryAfterSeconds })
	}
}
