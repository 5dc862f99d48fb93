import { OPTIONAL_BODY } from '../../plugins/openapi'
import { Elysia } from 'elysia'
import type { AuthPlugin } from '../../plugins/auth'
import { errorModel, errorResponses } from '../../plugins/error-model'
import { IdempotencyHeaders } from '../messages/model'
import { QrQuery, SessionIdParams, SessionListQuery, sessionsModels } from './model'
import type { MessagesService } from '../messages/service'
import type { QrFormat, SessionsService } from './service'

export interface SessionsModuleDeps {
	sessions: SessionsService
	messages: MessagesService
	authPlugin: AuthPlugin
}

/** `?format=` decides; without it, SVG when `Accept` rates image/svg+xml above image/png (PNG on a tie). */
function qrFormat(format: QrFormat | undefined, accept: string | undefined): QrFormat {
	if (format) return format
	const quality = { 'image/svg+xml': 0, 'image/png': 0 }
	for (const range of (accept ?? '').toLowerCase().split(',')) {
		const [type, ...params] = range.split(';').map((p) => p.trim())
		const q = Number(params.find((p) => p.startsWith('q='))?.slice(2) ?? 1)
		if (type === 'image/svg+xml' || type === 'image/png') quality[type] = Math.max(quality[type], Number.isFinite(q) ? q : 0)
	}
	return quality['image/svg+xml'] > quality['image/png'] ? 'svg' : 'png'
}

export const sessionsModule = ({ sessions, messages, authPlugin }: SessionsModuleDeps) =>
	new Elysia({ name: 'sessions', prefix: '/sessions', tags: ['sessions'] })
		.use(errorModel)
		.use(authPlugin)
		.model(sessionsModels)
		.post('', async ({ tenantId, body, status }) => status(201, await sessions.create(tenantId, body)), {
			auth: 'sessions:write',
			body: 'CreateSession',
			response: { 201: 'Session', ...errorResponses(400, 401, 403, 409, 413, 415) },
			detail: {
				[OPTIONAL_BODY]: true,
				summary: 'Create a WhatsApp session and start pairing it',
				description:
					'Answers at once with status `starting`; a runner then connects and the session moves to `qr` (scan GET /sessions/:id/qr) or, when `phoneNumber` is given, shows a `pairingCode` to enter on that phone. 400 `INVALID_PHONE_NUMBER`, `INVALID_NAME` (blank; leave `name` out for a numbered one); 409 `SESSION_LIMIT_REACHED` when the account has `MAX_SESSIONS_PER_TENANT` sessions.',
			},
		})
		.get('', ({ tenantId, query }) => sessions.list(tenantId, query), {
			auth: 'sessions:read',
			query: SessionListQuery,
			response: { 200: 'SessionPage', ...errorResponses(400, 401, 403) },
			detail: {
				summary: "The account's sessions, oldest first",
				description: 'Keyset pagination: pass `nextCursor` back as `cursor`; it is null on the last page.',
			},
		})
		.get('/:id', ({ tenantId, params }) => sessions.get(tenantId, params.id), {
			auth: 'sessions:read',
			params: SessionIdParams,
			response: { 200: 'Session', ...errorResponses(400, 401, 403, 404) },
			detail: { summary: 'One session', description: "404 for an unknown id, a deleted session and another account's session alike." },
		})
		.get(
			'/:id/qr',
			async ({ tenantId, params, query, request }) => {
				const format = qrFormat(query.format, request.headers.get('accept') ?? undefined)
				const image = await sessions.qrImage(tenantId, params.id, format)
				// A copy into a plain Uint8Array: a body type the DOM's types accept as well as Bun's (the dashboard's type check sees this file).
				return new Response(typeof image === 'string' ? image : new Uint8Array(image), {
					headers: {
						'content-type': format === 'svg' ? 'image/svg+xml; charset=utf-8' : 'image/png',
						// A QR lives 20–60 s and then is replaced; a cached one could not be scanned.
						'cache-control': 'no-store',
					},
				})
			},
			{
				auth: 'sessions:read',
				params: SessionIdParams,
				query: QrQuery,
				// No `response` schema: the OpenAPI plugin would replace `detail.responses` with it and
				// list the image as text/plain.
				detail: {
					summary: 'The QR to scan, as PNG (default) or SVG',
					description:
						'SVG with `?format=svg` or `Accept: image/svg+xml`. 404 `NO_QR` when there is nothing to scan: connected, stopped, or pairing by code. WhatsApp replaces the QR every 20 s (the first lives 60 s); fetch it again or follow `session.qr.updated` on the WebSocket.',
					responses: {
						200: {
							description: 'The QR image',
							content: { 'image/png': { schema: { type: 'string', format: 'binary' } }, 'image/svg+xml': { schema: { type: 'string' } } },
						},
						...Object.fromEntries(
							[400, 401, 403, 404].map((code) => [
								code,
								{ description: `Error ${code}`, content: { 'application/json': { schema: { $ref: '#/components/schemas/Error' } } } },
							]),
						),
					},
				},
			},
		)
		.post('/:id/start', async ({ tenantId, params, status }) => status(202, await sessions.start(tenantId, params.id)), {
			auth: 'sessions:write',
			params: SessionIdParams,
			response: { 202: 'Session', ...errorResponses(400, 401, 403, 404) },
			detail: {
				summary: 'Start the session (again)',
				description: 'Desired state `running`; a paired session logs in with its stored credentials, an unpaired one shows a new QR. Idempotent.',
			},
		})
		.post('/:id/stop', async ({ tenantId, params, status }) => status(202, await sessions.stop(tenantId, params.id)), {
			auth: 'sessions:write',
			params: SessionIdParams,
			response: { 202: 'Session', ...errorResponses(400, 401, 403, 404) },
			detail: {
				summary: 'Stop the session, keeping the pairing',
				description: 'Desired state `stopped`; the socket closes without logging out, so a later start needs no QR. Idempotent.',
			},
		})
		.delete('/:id', async ({ tenantId, params, status }) => status(202, await sessions.remove(tenantId, params.id)), {
			auth: 'sessions:write',
			params: SessionIdParams,
			response: { 202: 'Session', ...errorResponses(400, 401, 403, 404) },
			detail: {
				summary: 'Delete the session: log out from WhatsApp, delete its credentials and data',
				description:
					'The session disappears from every route at once (a second DELETE answers 404) and `session.deleted` goes out; the runner unlinks the device from the phone and deletes the credentials, and the chats, messages and contacts are deleted in the background, a batch at a time.',
			},
		})
		.post(
			'/:id/messages',
			async ({ tenantId, params, body, headers, status }) =>
				status(202, await messages.sendTo(tenantId, params.id, body, headers['idempotency-key'])),
			{
				auth: 'messages:send',
				params: SessionIdParams,
				headers: IdempotencyHeaders,
				body: 'SendMessage',
				response: { 202: 'MessageAccepted', ...errorResponses(400, 401, 403, 404, 409, 413, 415, 422) },
				detail: {
					summary: 'Send a text message',
					description:
						'Answers 202 with the WhatsApp message id before WhatsApp has it; the message then shows up in GET /chats/:jid/messages (and as `session.messages.upsert`) with its status moving from `pending` to `server_ack`, `delivered`, `read`. 400 `INVALID_RECIPIENT`, `INVALID_TEXT` or `VALIDATION_FAILED` (text longer than 65,536 characters); 409 `SESSION_NOT_CONNECTED`; 413 when the body exceeds `BODY_LIMIT_BYTES`; 422 `IDEMPOTENCY_KEY_REUSED`.',
				},
			},
		)
