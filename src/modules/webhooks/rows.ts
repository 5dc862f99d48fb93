import { schema } from '../../db/client'
import type { Webhook, WebhookDelivery } from './model'

// How webhook rows read as API answers: the columns the API shows, and their JSON shapes.
const { webhookEndpoints: endpoints, webhookDeliveries: deliveries } = schema

/** What an endpoint's row shows through the API (never its secrets). */
export const publicColumns = {
	id: endpoints.id,
	url: endpoints.url,
	events: endpoints.events,
	sessionIds: endpoints.sessionIds,
	description: endpoints.description,
	enabled: endpoints.enabled,
	disabledReason: endpoints.disabledReason,
	failingSince: endpoints.failingSince,
	createdAt: endpoints.createdAt,
	updatedAt: endpoints.updatedAt,
}

type EndpointRow = Pick<typeof endpoints.$inferSelect, keyof typeof publicColumns>

const iso = (value: Date | null) => value?.toISOString() ?? null

export function toWebhook(row: EndpointRow): Webhook {
	return {
		id: row.id,
		url: row.url,
		events: row.events,
		sessionIds: row.sessionIds,
		description: row.description,
		enabled: row.enabled,
		disabledReason: row.disabledReason,
		failingSince: iso(row.failingSince),
		createdAt: iso(row.createdAt)!,
		updatedAt: iso(row.updatedAt)!,
	}
}

/** What the delivery log shows of a delivery (never its body). */
export const deliveryColumns = {
	id: deliveries.id,
	eventId: deliveries.eventId,
	eventType: deliveries.eventType,
	sessionId: deliveries.sessionId,
	positionMs: deliveries.positionMs,
	positionSeq: deliveries.positionSeq,
	state: deliveries.state,
	attempts: deliveries.attempts,
	lastStatusCode: deliveries.lastStatusCode,
	lastLatencyMs: deliveries.lastLatencyMs,
	lastError: deliveries.lastError,
	nextAttemptAt: deliveries.nextAttemptAt,
	lastAttemptAt: deliveries.lastAttemptAt,
	deliveredAt: deliveries.deliveredAt,
	createdAt: deliveries.createdAt,
}

export function toDelivery(r: Pick<typeof deliveries.$inferSelect, keyof typeof deliveryColumns>): WebhookDelivery {
	return {
		id: r.id,
		eventId: r.eventId,
		eventType: r.eventType,
		sessionId: r.sessionId,
		position: r.positionMs === null ? null : `${r.positionMs}-${r.positionSeq}`,
		state: r.state,
		attempts: r.attempts,
		lastStatusCode: r.lastStatusCode,
		lastLatencyMs: r.lastLatencyMs,
		lastError: r.lastError,
		nextAttemptAt: r.state === 'pending' ? iso(r.nextAttemptAt) : null,
		lastAttemptAt: iso(r.lastAttemptAt),
		deliveredAt: iso(r.deliveredAt),
		createdAt: iso(r.createdAt)!,
	}
}
