import { Elysia } from 'elysia'
import { matchesNoneMatch } from '../../lib/conditional'
import type { AuthPlugin } from '../../plugins/auth'
import { errorModel, errorResponses } from '../../plugins/error-model'
import { ChatParams, SessionQuery } from '../chats/model'
import { SessionIdParams } from '../sessions/model'
import { peopleModels } from './model'
import type { PeopleService } from './service'

export interface PeopleModuleDeps {
	people: PeopleService
	authPlugin: AuthPlugin
	/** For the route descriptions: the settings that bound them. */
	limits: { numberCheckMaxNumbers: number; numberCheckLimit: number; numberCheckWindowSeconds: number; pictureTtlSeconds: number }
}

const SESSION_FILTER_HELP =
	"`sessionId` defaults to the account's only session (400 `SESSION_REQUIRED` when it has several; 404 for another account's session)."

/** Error answers in OpenAPI's own words, for a route whose success is no JSON schema (a picture's bytes). */
const openApiErrorResponses = (codes: number[]) =>
	Object.fromEntries(
		codes.map((code) => [
			code,
			{ description: `Error ${code}`, content: { 'application/json': { schema: { $ref: '#/components/schemas/Error' } } } },
		]),
	)

/**
 * People through a session: number checks, profile pictures, presence. The routes sit beside the
 * chats, contacts and sessions routes they belong with (and carry their tags).
 */
export const peopleModule = ({ people, authPlugin, limits }: PeopleModuleDeps) =>
	new Elysia({ name: 'people' })
		.use(errorModel)
		.use(authPlugin)
		.model(peopleModels)
		.post(
			'/sessions/:id/contacts/check',
			async ({ tenantId, params, body }) => ({ results: await people.checkNumbers(tenantId, params.id, body.phoneNumbers) }),
			{
				auth: 'messages:send',
				params: SessionIdParams,
				body: 'NumberCheck',
				response: { 200: 'NumberCheckResults', ...errorResponses(400, 401, 403, 404, 409, 413, 415, 429, 502, 504) },
				detail: {
					tags: ['contacts'],
					summary: 'Which phone numbers are on WhatsApp',
					description: `Each number as written, in order: \`exists\`, its \`jid\` and, when WhatsApp tells it, its \`lid\`. WhatsApp is asked once for the whole list. A number without its country code (or not a number) answers \`exists: false\` with \`reason: invalid_number\` and is not asked about. At most ${limits.numberCheckMaxNumbers} numbers per request (400 \`TOO_MANY_NUMBERS\`) and ${limits.numberCheckLimit} numbers per session every ${limits.numberCheckWindowSeconds} s (429 \`RATE_LIMITED\` with Retry-After): WhatsApp bans accounts that look up many numbers. 409 \`SESSION_NOT_CONNECTED\`; 504 \`RUNNER_TIMEOUT\` when the session's runner does not answer in time.`,
				},
			},
		)
		.get(
			'/contacts/:jid/picture',
			async ({ tenantId, params, query, request }) => {
				const picture = await people.picture(tenantId, params.jid, query.sessionId)
				const etag = `"${picture.sha256}"`
				const headers: Record<string, string> = {
					'content-type': picture.mimetype,
					etag,
					'last-modified': picture.fetchedAt.toUTCString(),
					// Only the caller may keep it, and only as long as the server's own cache does.
					'cache-control': `private, max-age=${picture.freshForSeconds}`,
				}
				if (matchesNoneMatch(request.headers.get('if-none-match'), etag)) return new Response(null, { status: 304, headers })
				return new Response(picture.read(), { headers: { ...headers, 'content-length': String(picture.size) } })
			},
			{
				auth: 'messages:read',
				params: ChatParams,
				query: SessionQuery,
				detail: {
					tags: ['contacts'],
					summary: 'The profile picture of a contact or group',
					description: `The image bytes (\`ETag\` = its SHA-256; \`If-None-Match\` answers 304). Fetched from WhatsApp through the session and kept ${limits.pictureTtlSeconds} s (PROFILE_PICTURE_TTL_SECONDS), its absence too. 404 \`NO_PICTURE\` when there is none or its owner hides it from this account; 400 \`INVALID_JID\`; 409 \`SESSION_NOT_CONNECTED\` when it must be fetched and the session is not connected; 504 \`RUNNER_TIMEOUT\`. ${SESSION_FILTER_HELP}`,
					responses: {
						200: { description: 'The image', content: { 'image/*': { schema: { type: 'string', format: 'binary' } } } },
						304: { description: 'Not modified (If-None-Match matched the ETag)' },
						...openApiErrorResponses([400, 401, 403, 404, 409, 502, 504]),
					},
				},
			},
		)
		.post(
			'/chats/:jid/presence',
			async ({ tenantId, params, query, body, status }) => status(202, await people.chatPresence(tenantId, params.jid, query.sessionId, body.state)),
			{
				auth: 'messages:send',
				params: ChatParams,
				query: SessionQuery,
				body: 'ChatPresence',
				response: { 202: 'PresenceAccepted', ...errorResponses(400, 401, 403, 404, 409, 413, 415) },
				detail: {
					tags: ['chats'],
					summary: 'Show typing… or recording… in a chat',
					description: `\`typing\` and \`recording\` show until \`paused\` or until WhatsApp times them out (about 25 s). 409 \`SESSION_NOT_CONNECTED\`. ${SESSION_FILTER_HELP}`,
				},
			},
		)
		.post(
			'/chats/:jid/presence/subscribe',
			async ({ tenantId, params, query, status }) => status(202, await people.subscribe(tenantId, params.jid, query.sessionId)),
			{
				auth: 'messages:read',
				params: ChatParams,
				query: SessionQuery,
				response: { 202: 'PresenceAccepted', ...errorResponses(400, 401, 403, 404, 409) },
				detail: {
					tags: ['chats'],
					summary: "Follow a contact's presence",
					description: `WhatsApp then tells when the contact comes online, goes offline (with last seen, if they share it) or types in the chat: \`session.presence.updated\` on the WebSocket, never stored. A subscription lasts while the session's connection does: subscribe again after a reconnect. ${SESSION_FILTER_HELP}`,
				},
			},
		)
		.post(
			'/sessions/:id/presence',
			async ({ tenantId, params, body, status }) => status(202, await people.ownPresence(tenantId, params.id, body.state)),
			{
				auth: 'sessions:write',
				params: SessionIdParams,
				body: 'OwnPresence',
				response: { 202: 'PresenceAccepted', ...errorResponses(400, 401, 403, 404, 409, 413, 415) },
				detail: {
					tags: ['sessions'],
					summary: 'Show the account online or offline',
					description:
						'Sessions connect as `unavailable`, so the phone keeps its notifications; `available` shows the account online (and WhatsApp then stops pushing notifications to the phone) until `unavailable`. WhatsApp only takes it from an account with a push name. 409 `SESSION_NOT_CONNECTED`.',
				},
			},
		)
