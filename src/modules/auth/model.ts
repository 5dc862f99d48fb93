import { t } from 'elysia'
import { Email, OneTimeToken, Password, User } from '../users/model'

export const REFRESH_COOKIE = 'refresh_token'

export const authModels = {
	Login: t.Object({ email: Email, password: Password }),
	AccessToken: t.Object({
		accessToken: t.String({ description: 'JWT for `Authorization: Bearer`; the refresh token travels in an httpOnly cookie' }),
		tokenType: t.Literal('Bearer'),
		expiresIn: t.Integer({ description: 'Seconds until the access token expires' }),
		user: User,
	}),
	EmailOnly: t.Object({ email: Email }),
	ResetConfirm: t.Object({ token: OneTimeToken, password: Password }),
	Accepted: t.Object({ status: t.Literal('accepted') }),
}

/** Refresh tokens are far shorter: a longer value is not one. */
const REFRESH_TOKEN_MAX = 512

/**
 * Any value is taken: one that is not a refresh token (garbled percent-encoding, which the cookie
 * parser turns into null, JSON, which it parses, or too long) counts as no token, so refresh
 * answers the 401 of every other bad token and logout still clears it.
 */
export const RefreshCookie = t.Cookie({
	[REFRESH_COOKIE]: t.Optional(t.Unknown({ description: 'The refresh token login and refresh set; a value that is not one counts as none' })),
})

/** The refresh token a request carries, or undefined when its cookie holds none (see `RefreshCookie`). */
export const refreshTokenOf = (value: unknown): string | undefined =>
	typeof value === 'string' && value.length > 0 && value.length <= REFRESH_TOKEN_MAX ? value : undefined
