import { Elysia } from 'elysia'
import type { AuthService } from '../modules/auth/service'
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

/**
 * The `auth` macro: `{ auth: true }` on a route, a guard or a `.ws()` resolves `user` ({ id,
 * tenantId }) and `tenantId` from a valid access token, or answers 401 UNAUTHORIZED before the
 * handler runs. Per request this is an HMAC check plus a cached token-version comparison.
 */
export const authPlugin = (auth: AuthService) =>
	new Elysia({ name: 'auth' }).use(errorModel).macro({
		auth: {
			detail: { security: [{ bearer: [] }] },
			async resolve({ headers, query }) {
				const user = await auth.authenticate(presentedToken(headers.authorization, query))
				return { user, tenantId: user.tenantId }
			},
		},
	})

export type AuthPlugin = ReturnType<typeof authPlugin>
