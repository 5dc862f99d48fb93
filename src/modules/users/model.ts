import { t } from 'elysia'
import { SINGLE_LINE_PATTERN, UuidInput } from '../../lib/schema'
import { PASSWORD_MAX_LENGTH, PASSWORD_MIN_LENGTH } from '../auth/secrets'
import { Nullable } from '../../lib/schema'

// Emails are ASCII addresses (Elysia's `email` format); internationalised addresses are refused
// with a 400 rather than half-supported. The format also keeps NUL out, which Postgres text
// cannot store.
export const Email = t.String({ format: 'email', maxLength: 254, examples: ['ada@example.com'] })

export const Password = t.String({
	maxLength: PASSWORD_MAX_LENGTH,
	description: `At least ${PASSWORD_MIN_LENGTH} characters, not equal to the email address. Any characters, emoji included.`,
})

/** One-time tokens from mailed links; anything that is not one of ours is simply not found. */
export const OneTimeToken = t.String({ minLength: 1, maxLength: 512 })

// No control characters (NUL included): names end up in mails and logs.
const Name = t.String({ minLength: 1, maxLength: 100, pattern: SINGLE_LINE_PATTERN, examples: ['Ada Lovelace'] })

/** A user as every response shows it. */
export const User = t.Object({
	id: t.String({ format: 'uuid' }),
	email: t.String(),
	name: Nullable(t.String()),
	tenantId: t.String({ format: 'uuid' }),
	emailVerified: t.Boolean(),
})
export type User = typeof User.static

export const usersModels = {
	User,
	SignUp: t.Object({ email: Email, password: Password, name: t.Optional(Name) }),
	VerifyEmail: t.Object({ token: OneTimeToken }),
}

export const UserIdParams = t.Object({ id: UuidInput() })
