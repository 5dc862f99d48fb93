import { Elysia, t } from 'elysia'
import type { RouteScope } from '../../core/scopes'
import { type AuthPlugin, type AuthUser, authorize } from '../../plugins/auth'
import { errorModel, errorResponses } from '../../plugins/error-model'
import { DeliveryListQuery, DeliveryParams, WebhookListQuery, WebhookParams, webhooksModels } from './model'
import type { WebhooksService } from './service'

export interface WebhooksModuleDeps {
	webhooks: WebhooksService
	authPlugin: AuthPlugin
}

const SIGNING =
	'Every POST carries the Standard Webhooks headers `webhook-id` (the event id, the same on every retry), `webhook-timestamp` and `webhook-signature`; the body is the event as the WebSocket sends it. See docs/webhooks.md.'

/**
 * A webhook carries what the WebSocket does: message contents, session states and QR codes. A key
 * that chooses where events go (a new endpoint, or its URL, events or sessions changed) must be
 * able to read them itself, or `webhooks:manage` alone would read every message through a receiver
 * of its own.
 */
const WEBHOOK_READS: RouteScope[] = ['sessions:read', 'messages:read']
const mayDirectEvents = (user: AuthUser) => {
	for (const scope of WEBHOOK_READS) authorize(user, scope, 'a webhook carries what it reads')
}
const SCOPES_NOTE =
	'An API key needs `sessions:read` and `messages:read` besides `webhooks:manage` to choose where events go (403 `INSUFFICIENT_SCOPE` naming the one it lacks).'

export const webhooksModule = ({ webhooks, authPlugin }: WebhooksModuleDeps) =>
	new Elysia({ name: 'webhooks', prefix: '/webhooks', tags: ['webhooks'] })
		.use(errorModel)
		.use(authPlugin)
		.model(webhooksModels)
		.guard({ auth: 'webhooks:manage' })
		.post(
			'',
			async ({ user, tenantId, body, status }) => {
				mayDirectEvents(user)
				return status(201, await webhooks.create(tenantId, body))
			},
			{
				body: 'CreateWebhook',
				response: { 201: 'CreatedWebhook', ...errorResponses(400, 401, 403, 404, 409, 413, 415, 422) },
				detail: {
					summary: 'Register a webhook endpoint',
					description: `The answer holds the signing \`secret\` (\`whsec_…\`), shown this once. 400 \`INVALID_URL\` (not http/https); 422 \`WEBHOOK_TARGET_REFUSED\` (a loopback, private, link-local or reserved address, unless WEBHOOK_ALLOW_PRIVATE_TARGETS), 422 \`UNKNOWN_EVENT_TYPE\` (a pattern matching no event type); 404 \`SESSION_NOT_FOUND\` (a session id that is not this account's); 409 \`WEBHOOK_LIMIT_REACHED\` when the account has MAX_WEBHOOKS_PER_TENANT webhooks (20 by default), enabled or not. ${SCOPES_NOTE} ${SIGNING}`,
				},
			},
		)
		.get('', async ({ tenantId, query }) => webhooks.list(tenantId, query), {
			query: WebhookListQuery,
			response: { 200: 'WebhookPage', ...errorResponses(400, 401, 403) },
			detail: {
				summary: "The account's webhook endpoints",
				description: 'Oldest first; keyset pagination as for GET /sessions. Secrets are never shown again.',
			},
		})
		.get('/:id', async ({ tenantId, params }) => webhooks.get(tenantId, params.id), {
			params: WebhookParams,
			response: { 200: 'Webhook', ...errorResponses(400, 401, 403, 404) },
			detail: { summary: 'One webhook endpoint', description: '`enabled` false with `disabledReason` says why it no longer receives events.' },
		})
		.patch(
			'/:id',
			async ({ user, tenantId, params, body }) => {
				if (body.url !== undefined || body.events !== undefined || body.sessionIds !== undefined) mayDirectEvents(user)
				return webhooks.update(tenantId, params.id, body)
			},
			{
				params: WebhookParams,
				body: 'UpdateWebhook',
				response: { 200: 'Webhook', ...errorResponses(400, 401, 403, 404, 413, 415, 422) },
				detail: {
					summary: 'Change a webhook endpoint',
					description:
						'Fields as for POST /webhooks, checked the same way; changing `url`, `events` or `sessionIds` with an API key needs `sessions:read` and `messages:read` too. `enabled: true` re-enables an endpoint the dispatcher disabled (410, or failing too long): its pending deliveries resume in order. Events that arrived while it was disabled are not queued; POST /webhooks/:id/replay sends them.',
				},
			},
		)
		.delete(
			'/:id',
			async ({ tenantId, params, status }) => {
				await webhooks.remove(tenantId, params.id)
				return status(204, undefined)
			},
			{
				params: WebhookParams,
				response: { 204: t.Void(), ...errorResponses(400, 401, 403, 404) },
				detail: { summary: 'Delete a webhook endpoint', description: 'Its pending deliveries and its delivery log go with it.' },
			},
		)
		.post('/:id/rotate-secret', async ({ tenantId, params }) => webhooks.rotateSecret(tenantId, params.id), {
			params: WebhookParams,
			response: { 200: 'RotatedSecret', ...errorResponses(400, 401, 403, 404, 409) },
			detail: {
				summary: 'Replace the signing secret',
				description:
					'The new secret is shown this once. For 24 hours every attempt carries a signature by the old secret too, beside the new one, so the receiver can switch over without refusing anything; each secret rotated out keeps its own 24 hours, a second rotation does not cut the first one short. At most 5 secrets rotated out sign at once: a 6th rotation within 24 hours is refused with 409 `TOO_MANY_SECRET_ROTATIONS` until the oldest expires (`details.retryAt`).',
			},
		})
		.post('/:id/test', async ({ tenantId, params, status }) => status(202, await webhooks.sendTest(tenantId, params.id)), {
			params: WebhookParams,
			response: { 202: 'TestQueued', ...errorResponses(400, 401, 403, 404, 409) },
			detail: {
				summary: 'Send a webhook.test event',
				description:
					'Queued and sent by the dispatcher like any event (signed, retried, in the delivery log); its body has `type: "webhook.test"`, `id` and `sessionId` null. 409 `WEBHOOK_DISABLED`.',
			},
		})
		.get('/:id/deliveries', async ({ tenantId, params, query }) => webhooks.deliveries(tenantId, params.id, query), {
			params: WebhookParams,
			query: DeliveryListQuery,
			response: { 200: 'WebhookDeliveryPage', ...errorResponses(400, 401, 403, 404) },
			detail: {
				summary: 'The delivery log of a webhook endpoint',
				description:
					'Newest first; keyset pagination (`nextCursor` back as `cursor`). `state` filters: `pending` (queued or retrying), `delivered`, `failed` (retries spent). A delivered or failed delivery stays in the log for WEBHOOK_DELIVERY_RETENTION_SECONDS (7 days by default); pending ones stay until they end.',
			},
		})
		.post(
			'/:id/deliveries/:deliveryId/retry',
			async ({ tenantId, params, status }) => status(202, await webhooks.retry(tenantId, params.id, params.deliveryId)),
			{
				params: DeliveryParams,
				response: { 202: 'WebhookDelivery', ...errorResponses(400, 401, 403, 404, 409) },
				detail: {
					summary: 'Send one delivery again now',
					description:
						'Whatever its state; a failed delivery gets one more attempt. It still waits behind earlier pending events of its session. 404 `DELIVERY_NOT_FOUND`; 409 `WEBHOOK_DISABLED` (enable the webhook first).',
				},
			},
		)
		.post('/:id/replay', async ({ tenantId, params, body, status }) => status(202, await webhooks.replay(tenantId, params.id, body.since)), {
			params: WebhookParams,
			body: 'Replay',
			response: { 202: 'ReplayQueued', ...errorResponses(400, 401, 403, 404, 409, 413, 415) },
			detail: {
				summary: 'Send retained events again',
				description:
					'Every event the stream still holds from `since` on (see STREAM_RETENTION_SECONDS) that this endpoint takes is queued again, with its original `webhook-id`, in stream order. `since` is a stream position, an ISO-8601 time with its zone, or a date (from its midnight UTC). 400 `INVALID_SINCE`; 404 `WEBHOOK_NOT_FOUND`, also for a webhook deleted while the replay runs.',
			},
		})
