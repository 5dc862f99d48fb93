import { Elysia } from 'elysia'
import { errorModel } from './errors'

/** Exactly `Bearer <token>` (the scheme in any case, RFC 6750): one space, a token of token68 characters, nothing after. */
const BEARER = /^Bearer ([A-Za-z0-9\-._~+/]+=*)$/i

/**
 * The token a request presents: from `Authorization: Bearer <token>` only. A URL leaks into logs,
 * histories and Referer headers, so REST never reads one there; a WebSocket upgrade may carry
 * `?accessToken=`, because browsers cannot set headers on a WebSocket.
 */
export function presentedToken(request: Request, query: Record<string, unknown> | undefined): string | undefined {
	const authorization = request.headers.get('authorization')
	if (authorization !== null) return BEARER.exec(authorization)?.[1]
	if (request.headers.get('upgrade')?.toLowerCase() !== 'websocket') return undefined
	const fromQuery = query?.accessToken
	return typeof fromQuery === 'string' ? fromQuery : undefined
}

/** Who a valid access token speaks for. */
export interface AuthUser {
	id: string
	tenantId: string
}

/** What the macro needs: a check of a presented token that throws UnauthenticatedError when it fails. */
export interface Authenticator {
	authenticate(accessToken: string | undefined): Promise<AuthUser>
}

/**
 * The `auth` macro: `{ auth: true }` on a route, a guard or a `.ws()` resolves `user` ({ id,
 * tenantId }) and `tenantId` from a valid access token, or answers 401 UNAUTHORIZED before the
 * handler runs. Per request this is an HMAC check plus a cached token-version comparison.
 *
 * The check runs in `transform`, before Elysia validates the body: a caller without a valid token
 * learns nothing about a route's schema and gets 401, not a 400 listing the fields it got wrong.
 * `resolve` (after validation) only hands the result to the handler.
 */
export const authPlugin = (auth: Authenticator) => {
	const authenticated = new WeakMap<Request, AuthUser>()
	return new Elysia({ name: 'auth' }).use(errorModel).macro({
		auth: {
			detail: { security: [{ bearer: [] }] },
			async transform({ request, query }) {
				authenticated.set(request, await auth.authenticate(presentedToken(request, query)))
			},
			async resolve({ request, query }) {
				const user = authenticated.get(request) ?? (await auth.authenticate(presentedToken(request, query)))
				return { user, tenantId: user.tenantId }
			},
		},
	})
}

export type AuthPlugin = ReturnType<typeof authPlugin>
