/**
 * What an API key may do. A key holds a list of these; a user's access token holds them all. Each
 * route names the one scope it needs (or that only a signed-in user reaches it), and the auth
 * plugin refuses a key without that scope with 403 INSUFFICIENT_SCOPE.
 */
export const SCOPES = {
	'sessions:read': 'List and read sessions, their QR and state',
	'sessions:write': 'Create, start, stop, delete and pair sessions',
	'messages:read': 'Read chats, messages, contacts and received files; with sessions:read, follow the realtime WebSocket',
	'messages:send': 'Send, edit and delete messages, mark chats read, upload and fetch files',
	'webhooks:manage':
		'Create, change and delete webhooks and read their deliveries (pointing one at a URL also needs sessions:read and messages:read)',
	'*': 'Every scope, including ones added later',
} as const

export type Scope = keyof typeof SCOPES

/** A scope a route can require: any but the wildcard. */
export type RouteScope = Exclude<Scope, '*'>

/**
 * A route's access decision: the scope a caller needs, or `user` for the account's own routes
 * (users, auth, API keys), which only a signed-in user reaches: a key cannot mint, list or revoke
 * keys, so a leaked key cannot make itself a successor or hide.
 */
export type Access = RouteScope | 'user'

export const SCOPE_NAMES = Object.keys(SCOPES) as Scope[]

export const isScope = (value: string): value is Scope => Object.hasOwn(SCOPES, value)

/** Whether a key holding `held` may use a route that needs `needed`. */
export const grants = (held: readonly Scope[], needed: RouteScope) => held.includes('*') || held.includes(needed)

/**
 * Every API key starts with this: the authenticator tells a key from a JWT access token by it, and
 * secret scanners (and people) recognise a leaked key by it.
 */
export const API_KEY_PREFIX = 'sbk_'
