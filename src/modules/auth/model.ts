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

export const RefreshCookie = t.Cookie({ [REFRESH_COOKIE]: t.Optional(t.String({ maxLength: 512 })) })
