import { Elysia } from 'elysia'
import { errorModel } from './errors'

/** `Authorization: Bearer <jwt>`; browsers cannot set headers on a WebSocket, so `?accessToken=` there. */
function presentedToken(authorization: string | undefined, query: Record<string, unknown> | undefined): string | undefined {
	if (authorization) {
		const [scheme, token] = authorization.split(' ', 2)
		return scheme?.toLowerCase() === 'bearer' && token ? token : undefined
	}
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
			async transform({ request, headers, query }) {
				authenticated.set(request, await auth.authenticate(presentedToken(headers.authorization, query)))
			},
			async resolve({ request, headers, query }) {
				const user = authenticated.get(request) ?? (await auth.authenticate(presentedToken(headers.authorization, query)))
				return { user, tenantId: user.tenantId }
			},
		},
	})
}

export type AuthPlugin = ReturnType<typeof authPlugin>
