import type { RequestError } from './request-error'

/**
 * A body that could not be read as a JSON object (malformed, not JSON, a text field with a lone
 * surrogate), held until the route's credential has been checked: a caller without one gets 401,
 * and a key without the scope 403, before any word on what it sent, as with a body that parses but
 * does not validate. Routes without a credential check answer it in the input plugin's transform.
 */
export class UnreadBody {
	constructor(readonly error: RequestError) {}
}

/** Answers the held error of a body that could not be read; anything else passes. */
export function refuseUnreadBody(body: unknown): void {
	if (body instanceof UnreadBody) throw body.error
}

/** The routes (`POST /path/:param`) whose credential check (the auth macro) answers before their body is refused. */
export function guardedRoutes(routes: readonly { method: string; path: string; hooks?: { detail?: unknown } }[]): Set<string> {
	const guarded = routes.filter((r) => (r.hooks?.detail as Record<string, unknown> | undefined)?.['x-required-scope'] !== undefined)
	return new Set(guarded.map((r) => `${r.method === 'WS' ? 'GET' : r.method} ${r.path}`))
}
