import { Elysia, t } from 'elysia'
import type { AuthPlugin } from '../../plugins/auth'
import { errorModel, errorResponses } from '../../plugins/error-model'
import { ApiKeyIdParams, apiKeysModels } from './model'
import { type ApiKeysService, MAX_API_KEYS_PER_TENANT } from './service'

export interface ApiKeysModuleDeps {
	apiKeys: ApiKeysService
	authPlugin: AuthPlugin
}

/** The account's API keys. Only a signed-in user manages them: a key never reaches these routes. */
export const apiKeysModule = ({ apiKeys, authPlugin }: ApiKeysModuleDeps) =>
	new Elysia({ name: 'api-keys', prefix: '/api-keys', tags: ['api-keys'] })
		.use(errorModel)
		.use(authPlugin)
		.model(apiKeysModels)
		.post('', async ({ user, tenantId, body, status }) => status(201, await apiKeys.create(tenantId, user.id, body)), {
			auth: 'user',
			body: 'CreateApiKey',
			response: { 201: 'CreatedApiKey', ...errorResponses(400, 401, 403, 409, 413, 415) },
			detail: {
				summary: 'Create an API key; the key is in this answer only',
				description: `Use the key as \`Authorization: Bearer <key>\` or \`X-Api-Key: <key>\` on REST and the WebSocket. Only its hash is stored: keep it now, or create another. 400 \`UNKNOWN_SCOPE\` (naming it), \`INVALID_NAME\`; 403 \`USER_REQUIRED\` when called with an API key; 409 \`API_KEY_LIMIT_REACHED\` at ${MAX_API_KEYS_PER_TENANT} active keys.`,
			},
		})
		.get('', async ({ tenantId }) => ({ items: await apiKeys.list(tenantId), nextCursor: null }), {
			auth: 'user',
			// No parameters: every key fits on one page, and a `limit` or `cursor` sent is refused, not ignored.
			query: t.Object({}),
			response: { 200: 'ApiKeyList', ...errorResponses(400, 401, 403) },
			detail: {
				summary: "The account's active API keys, newest first, without their secrets",
				description: `Every active key on one page (\`nextCursor\` is always null; at most ${MAX_API_KEYS_PER_TENANT} keys are active): the route takes no parameters, and refuses \`limit\` or \`cursor\` with 400 \`UNKNOWN_FIELD\`. \`lastUsedAt\` is written in batches and may trail by up to \`API_KEY_LAST_USED_FLUSH_SECONDS\`.`,
			},
		})
		.delete(
			'/:id',
			async ({ tenantId, params, status }) => {
				await apiKeys.revoke(tenantId, params.id)
				return status(204, undefined)
			},
			{
				auth: 'user',
				params: ApiKeyIdParams,
				response: { 204: t.Void({ description: 'No content' }), ...errorResponses(400, 401, 403, 404) },
				detail: {
					summary: 'Revoke an API key, at once, on every instance',
					description:
						"Requests with the key are refused (401 `INVALID_API_KEY`) from now on, and WebSockets it opened are closed with 4401. 404 for an unknown, already revoked or another account's key alike.",
				},
			},
		)
