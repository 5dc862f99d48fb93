import { Elysia } from 'elysia'
import { errorModel, errorResponses } from '../../plugins/error-model'
import type { AuthPlugin } from '../../plugins/auth'
import type { RateLimitPlugin } from '../../plugins/rate-limit'
import { UserIdParams, usersModels } from './model'
import type { UsersService } from './service'

export interface UsersModuleDeps {
	users: UsersService
	authPlugin: AuthPlugin
	rateLimit: RateLimitPlugin
}

export const usersModule = ({ users, authPlugin, rateLimit }: UsersModuleDeps) =>
	new Elysia({ name: 'users', prefix: '/users', tags: ['users'] })
		.use(errorModel)
		.use(authPlugin)
		.use(rateLimit)
		.model(usersModels)
		.post('', async ({ body, status }) => status(201, await users.signUp(body)), {
			rateLimit: 'signup',
			body: 'SignUp',
			response: { 201: 'User', ...errorResponses(400, 409, 413, 415, 429) },
			detail: {
				security: [],
				summary: 'Sign up: creates a tenant and its owner, and mails a verification link',
				description:
					'The mail links to `PUBLIC_URL/verify-email?userId=…&token=…`. 400 `WEAK_PASSWORD` when the password is shorter than 10 characters or equals the email; 409 `EMAIL_TAKEN` when the address (case-insensitively) has an account; 429 `RATE_LIMITED` with `Retry-After`.',
			},
		})
		.post('/:id/verify', ({ params, body }) => users.verifyEmail(params.id, body.token), {
			params: UserIdParams,
			body: 'VerifyEmail',
			response: { 200: 'User', ...errorResponses(400, 413, 415) },
			detail: {
				security: [],
				summary: 'Confirm the email address with the token from the verification mail',
				description: 'Tokens are single-use and expire; 400 `INVALID_TOKEN` for an unknown, expired or used token.',
			},
		})
		.get('/me', ({ user }) => users.getProfile(user.id, user.tenantId), {
			auth: 'user',
			response: { 200: 'User', ...errorResponses(400, 401, 403, 404) },
			detail: { summary: 'The signed-in user' },
		})
