import { Elysia } from 'elysia'
import { ForbiddenError, UnauthenticatedError } from '../core/errors'
import { API_KEY_PREFIX, type Access, grants, type Scope } from '../core/scopes'
import { errorModel } from './error-model'
import { refuseUnreadBody } from './unread-body'

/** Exactly `Bearer <token>` (the scheme in any case, RFC 6750): one space, a token of token68 characters, nothing after. */
const BEARER = /^Bearer ([A-Za-z0-9\-._~+/]+=*)$/i

/**
 * The credential a request presents: `X-Api-Key: <API key>` (the header many integration tools
 * offer), or else `Authorization: Bearer <access token or API key>`. The key's own header comes
 * first: proxies and tools add `Authorization` headers of their own (Basic auth, say), and a key
 * sent beside one must not be passed over for it. A URL leaks into logs, histories and Referer
 * headers, so REST never reads one there. Browsers cannot set headers on a WebSocket, so an upgrade
 * may carry a user's token in the `ACCESS_TOKEN_PROTOCOL` subprotocol, or in `?accessToken=`: the
 * WebSocket route passes its query as `wsQuery`, REST routes never do.
 */
export function presentedToken(request: Request, wsQuery: Record<string, unknown> | undefined): string | undefined {
	const apiKey = request.headers.get('x-api-key')
	// Only a key travels in X-Api-Key: anything else there is refused as an invalid key, never read as a JWT.
	if (apiKey !== null) return apiKey.startsWith(API_KEY_PREFIX) ? apiKey : `${API_KEY_PREFIX}invalid`
	const authorization = request.headers.get('authorization')
	if (authorization !== null) {
		const token = BEARER.exec(authorization)?.[1]
		// Said plainly, not as "missing or invalid": a key pasted without `Bearer `, a doubled space,
		// another scheme (Basic) would otherwise read as a bad token.
		if (token === undefined && authorization.trim() !== '') throw notBearer(authorization)
		return token
	}
	if (request.headers.get('upgrade')?.toLowerCase() !== 'websocket' || wsQuery === undefined) return undefined
	const fromProtocol = protocolToken(request)
	if (fromProtocol !== undefined) return fromProtocol
	const fromQuery = wsQuery.accessToken
	if (typeof fromQuery !== 'string') return undefined
	// A key belongs to a server, which can set a header; in a URL it would end up in logs.
	return fromQuery.startsWith(API_KEY_PREFIX) ? KEY_IN_URL : fromQuery
}

/**
 * The WebSocket subprotocol a browser names to carry its access token without putting it in the
 * URL, where consoles, histories and proxy logs would keep it: `new WebSocket(url, [ACCESS_TOKEN_PROTOCOL, token])`.
 * The server answers with this protocol alone (a browser drops a socket whose answer names none of
 * the ones it offered).
 */
export const ACCESS_TOKEN_PROTOCOL = 'switchboard.access-token'

/** The entries of `Sec-WebSocket-Protocol`, as a client offered them. */
export const offeredProtocols = (request: Request) =>
	(request.headers.get('sec-websocket-protocol') ?? '')
		.split(',')
		.map((p) => p.trim())
		.filter(Boolean)

/** The token offered after ACCESS_TOKEN_PROTOCOL, if that protocol was offered ('' when nothing follows it). */
function protocolToken(request: Request): string | undefined {
	const offered = offeredProtocols(request)
	const at = offered.indexOf(ACCESS_TOKEN_PROTOCOL)
	return at < 0 ? undefined : (offered[at + 1] ?? '')
}

/** What `presentedToken` answers for an API key in a WebSocket's URL: never a valid key, refused with a reason of its own. */
export const KEY_IN_URL = `${API_KEY_PREFIX}in-url`

const notBearer = (authorization: string) =>
	new UnauthenticatedError(
		'UNAUTHORIZED',
		`The Authorization header must read "Bearer <token>": the word Bearer, one space, then ${
			authorization.trim().startsWith(API_KEY_PREFIX) ? 'the API key' : 'an access token or an API key'
		} (an API key may be sent as X-Api-Key: <key> instead)`,
		undefined,
		{ cause: 'not_bearer' },
	)

/**
 * Who a valid credential speaks for: a signed-in user (an access token, every scope), or an API
 * key of the tenant (its scopes). `id` is the user's id, or the key's.
 */
export type AuthUser = { kind: 'user'; id: string; tenantId: string } | { kind: 'apiKey'; id: string; tenantId: string; scopes: readonly Scope[] }

/**
 * What the macro needs: a check of a presented credential that throws UnauthenticatedError when it
 * fails. `uncounted`: the request does not count against the user's rate limit (see `AuthOption`).
 */
export interface Authenticator {
	authenticate(credential: string | undefined, options?: { uncounted?: boolean }): Promise<AuthUser>
}

/**
 * A route's access decision, as the `auth` macro takes it. `uncounted` keeps a user's requests to
 * the route out of the per-user rate limit: signing out everywhere must work when a stolen token
 * has spent the limit, or the thief would keep the owner from revoking it.
 */
export type AuthOption = Access | { access: Access; uncounted: true }

/** The OpenAPI mark of a route whose requests the per-user rate limit does not count. */
export const UNCOUNTED = 'x-uncounted'

/**
 * Whether the caller may use a route with this access decision; throws ForbiddenError when not.
 * A user's access token passes every decision.
 */
export function authorize(caller: AuthUser, access: Access, why?: string): void {
	if (caller.kind === 'user') return
	if (access === 'user')
		throw new ForbiddenError('USER_REQUIRED', 'Sign in as a user for this route: API keys cannot manage the account, its users or its API keys', {
			required: 'user',
		})
	if (!grants(caller.scopes, access))
		throw new ForbiddenError('INSUFFICIENT_SCOPE', `This API key lacks the scope ${access}${why ? ` (${why})` : ''}`, {
			required: access,
			granted: caller.scopes,
		})
}

/** OpenAPI security of a route: who may call it, with the scope an API key needs (3.1 allows role names for any scheme). */
export const securityOf = (access: Access): Record<string, string[]>[] =>
	access === 'user' ? [{ bearer: [] }] : [{ bearer: [] }, { apiKey: [access] }, { apiKeyHeader: [access] }]

/**
 * The `auth` macro: `{ auth: 'sessions:read' }` on a route, a guard or a `.ws()` names the scope it
 * needs (`'user'`: signed-in users only), resolves `user` (see AuthUser) and `tenantId` from a valid
 * credential, or answers 401 UNAUTHORIZED (no valid credential) or 403 INSUFFICIENT_SCOPE /
 * USER_REQUIRED (a key that may not) before the handler runs. Per request this is an HMAC check
 * plus a cached token-version comparison, or a cached key lookup.
 *
 * The checks run in `transform`, before Elysia validates the body: a caller without a valid
 * credential learns nothing about a route's schema and gets 401, not a 400 listing the fields it
 * got wrong. `resolve` (after validation) only hands the result to the handler.
 */
export const authPlugin = (auth: Authenticator) => {
	const authenticated = new WeakMap<Request, AuthUser>()
	/** The hooks of both macros; `socket`: the route is a `.ws()`, whose upgrade may carry `?accessToken=`. */
	const hooks = (option: AuthOption, socket: boolean) => {
		const { access, uncounted } = typeof option === 'string' ? { access: option, uncounted: false } : option
		const check = async (request: Request, wsQuery: Record<string, unknown> | undefined) => {
			const user = await auth.authenticate(presentedToken(request, wsQuery), { uncounted })
			authorize(user, access)
			return user
		}
		return {
			detail: { security: securityOf(access), 'x-required-scope': access, ...(uncounted ? { [UNCOUNTED]: true } : {}) },
			async transform({ request, query, body }: { request: Request; query: Record<string, unknown>; body: unknown }) {
				authenticated.set(request, await check(request, socket ? query : undefined))
				refuseUnreadBody(body)
			},
			async resolve({ request, query }: { request: Request; query: Record<string, unknown> }) {
				const user = authenticated.get(request) ?? (await check(request, socket ? query : undefined))
				return { user, tenantId: user.tenantId }
			},
		}
	}
	return new Elysia({ name: 'auth' }).use(errorModel).macro({
		// REST reads credentials from headers only, whatever a request's Upgrade header says.
		auth: (option: AuthOption) => hooks(option, false),
		/** As `auth`, on a `.ws()`: browsers set no headers on a WebSocket, so its upgrade may carry a user's `?accessToken=`. */
		socketAuth: (option: AuthOption) => hooks(option, true),
	})
}

export type AuthPlugin = ReturnType<typeof authPlugin>
