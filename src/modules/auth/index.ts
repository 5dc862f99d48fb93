import { Elysia, t, type Cookie } from 'elysia'
import type { Config } from '../../config'
import type { AuthPlugin } from '../../plugins/auth'
import { errorModel, errorResponses } from '../../plugins/error-model'
import type { UsersService } from '../users/service'
import { authModels, REFRESH_COOKIE, RefreshCookie, refreshTokenOf } from './model'
import type { RateLimitPlugin } from '../../plugins/rate-limit'
import { clientIp } from '../../plugins/request-context'
import type { AuthService, IssuedSession } from './service'

const NoContent = t.Void({ description: 'No content' })

export interface AuthModuleDeps {
	auth: AuthService
	users: UsersService
	authPlugin: AuthPlugin
	rateLimit: RateLimitPlugin
	config: Pick<Config, 'cookieSecure' | 'trustProxyHops'>
}

export const authModule = ({ auth, users, authPlugin, rateLimit, config }: AuthModuleDeps) => {
	// The refresh token is only ever sent to /auth (refresh, logout), never to the API at large,
	// is invisible to scripts, and SameSite=Strict keeps cross-site requests from carrying it.
	const cookieAttributes = { httpOnly: true, sameSite: 'strict', path: '/auth', secure: config.cookieSecure } as const
	const setRefreshCookie = (cookie: Cookie<unknown>, session: IssuedSession) =>
		cookie.set({ ...cookieAttributes, value: session.refreshToken, expires: session.refreshExpiresAt })
	const clearRefreshCookie = (cookie: Cookie<unknown>) => cookie.set({ ...cookieAttributes, value: '', maxAge: 0, expires: new Date(0) })
	const sessionBody = (session: IssuedSession) => ({
		accessToken: session.accessToken,
		tokenType: 'Bearer' as const,
		expiresIn: session.expiresIn,
		user: session.user,
	})

	return new Elysia({ name: 'auth-routes', prefix: '/auth', tags: ['auth'] })
		.use(errorModel)
		.use(authPlugin)
		.use(rateLimit)
		.model(authModels)
		.post(
			'/login',
			async ({ body, cookie, request, server }) => {
				const session = await auth.login(body, {
					address: clientIp(request, server, config.trustProxyHops),
					refreshToken: refreshTokenOf(cookie[REFRESH_COOKIE]!.value),
				})
				setRefreshCookie(cookie[REFRESH_COOKIE]!, session)
				return sessionBody(session)
			},
			{
				rateLimit: 'login',
				body: 'Login',
				cookie: RefreshCookie,
				response: { 200: 'AccessToken', ...errorResponses(400, 401, 403, 413, 415, 429) },
				detail: {
					security: [],
					summary: 'Log in: an access token in the body, the refresh token in an httpOnly cookie',
					description:
						'401 `INVALID_CREDENTIALS` for an unknown email or a wrong password (same message, same timing); 403 `EMAIL_NOT_VERIFIED` before the address is confirmed; 429 `RATE_LIMITED` with `Retry-After` (per client IP, and per account after repeated failures).',
				},
			},
		)
		.post(
			'/refresh',
			async ({ cookie }) => {
				const jar = cookie[REFRESH_COOKIE]!
				const session = await auth.refresh(refreshTokenOf(jar.value))
				setRefreshCookie(jar, session)
				return sessionBody(session)
			},
			{
				cookie: RefreshCookie,
				response: { 200: 'AccessToken', ...errorResponses(400, 401, 403) },
				detail: {
					security: [],
					summary: 'Rotate the refresh cookie and get a new access token',
					description:
						'Every refresh token works once. Presenting one that was already rotated revokes its whole family (every token descended from the same login). 401 `INVALID_REFRESH_TOKEN` for unknown, expired, revoked or reused tokens alike.',
				},
			},
		)
		.post(
			'/logout',
			async ({ cookie, status }) => {
				const jar = cookie[REFRESH_COOKIE]!
				await auth.logout(refreshTokenOf(jar.value))
				clearRefreshCookie(jar)
				return status(204, undefined)
			},
			{
				cookie: RefreshCookie,
				response: { 204: NoContent, 400: 'Error' },
				detail: { security: [], summary: 'Log out this device: revokes the refresh cookie and clears it (idempotent)' },
			},
		)
		.post(
			'/logout-all',
			async ({ user, cookie, status }) => {
				await auth.logoutAll(user.id)
				clearRefreshCookie(cookie[REFRESH_COOKIE]!)
				return status(204, undefined)
			},
			{
				// A stolen token that spent the user's rate limit must not keep its owner from revoking it.
				auth: { access: 'user', uncounted: true },
				cookie: RefreshCookie,
				response: { 204: NoContent, ...errorResponses(400, 401, 403) },
				detail: {
					summary: 'Log out everywhere: revokes every refresh token and every outstanding access token of the user',
					description:
						'Access tokens stop working at once (token version), and open WebSockets of the user are closed. Not counted against the per-user rate limit, so it works when a stolen token has spent it.',
				},
			},
		)
		.post(
			'/resend-verification',
			async ({ body, status }) => {
				users.resendVerification(body.email)
				return status(202, { status: 'accepted' as const })
			},
			{
				rateLimit: 'mail',
				body: 'EmailOnly',
				response: { 202: 'Accepted', ...errorResponses(400, 413, 415, 429) },
				detail: {
					security: [],
					summary: 'Mail a new verification link',
					description: 'Always 202, whether or not the address has an (unverified) account, in the same time either way.',
				},
			},
		)
		.post(
			'/password-reset',
			async ({ body, status }) => {
				auth.requestPasswordReset(body.email)
				return status(202, { status: 'accepted' as const })
			},
			{
				rateLimit: 'mail',
				body: 'EmailOnly',
				response: { 202: 'Accepted', ...errorResponses(400, 413, 415, 429) },
				detail: {
					security: [],
					summary: 'Mail a password-reset link',
					description:
						'Always 202, whether or not the address has an account, in the same time either way. The mail links to `PUBLIC_URL/reset-password?token=…`.',
				},
			},
		)
		.post(
			'/password-reset/confirm',
			async ({ body, status }) => {
				await auth.confirmPasswordReset(body.token, body.password)
				return status(204, undefined)
			},
			{
				body: 'ResetConfirm',
				response: { 204: NoContent, ...errorResponses(400, 413, 415) },
				detail: {
					security: [],
					summary: 'Set a new password with the token from the reset mail; signs out every device',
					description: '400 `INVALID_TOKEN` for an unknown, expired or used token; 400 `WEAK_PASSWORD` (the token stays usable).',
				},
			},
		)
}
