import { t } from 'elysia'
import { Nullable, UUID_PATTERN, UuidInput } from '../../lib/schema'
import { PageQuery } from '../sessions/model'

const Uuid = t.String({ pattern: UUID_PATTERN, description: 'uuid' })
const Time = t.String({ format: 'date-time' })
const DeliveryState = t.Union([t.Literal('pending'), t.Literal('delivered'), t.Literal('failed')])

const Url = t.String({
	minLength: 1,
	maxLength: 2048,
	description: 'An http:// or https:// URL the events are POSTed to',
	examples: ['https://crm.example.com/hooks/whatsapp'],
})
const EventPattern = t.String({
	minLength: 1,
	maxLength: 100,
	pattern: '^[a-z0-9_.*]+$',
	description: 'A catalogue event type, or a glob with `*` (`session.messages.*`); `*` alone is every type',
	examples: ['session.messages.*'],
})
const Events = t.Array(EventPattern, { minItems: 1, maxItems: 50, description: 'What the endpoint receives (default `["*"]`)' })
const SessionIds = t.Array(UuidInput(), {
	minItems: 1,
	maxItems: 100,
	description: "Only these sessions' events (default: every session of the account)",
})
const Description = t.String({ maxLength: 500 })

export const Webhook = t.Object({
	id: Uuid,
	url: t.String(),
	events: t.Array(t.String()),
	sessionIds: Nullable(t.Array(Uuid)),
	description: Nullable(t.String()),
	enabled: t.Boolean(),
	disabledReason: Nullable(
		t.String({
			description:
				'`gone`: the receiver answered 410; `failing`: every attempt failed for WEBHOOK_DISABLE_AFTER_SECONDS; `user`: turned off by PATCH',
		}),
	),
	failingSince: Nullable(Time),
	createdAt: Time,
	updatedAt: Time,
})
export type Webhook = typeof Webhook.static

const Secret = t.String({
	description: 'The signing secret (`whsec_…`): shown this once, keep it with the receiver',
	examples: ['whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw'],
})

export const WebhookDelivery = t.Object({
	id: Uuid,
	eventId: t.String({ description: 'The `webhook-id` header of every attempt' }),
	eventType: t.String(),
	sessionId: Nullable(Uuid),
	position: Nullable(t.String({ description: 'Stream position of the event (`id` in the body); null for `webhook.test`' })),
	state: DeliveryState,
	attempts: t.Integer(),
	lastStatusCode: Nullable(t.Integer()),
	lastLatencyMs: Nullable(t.Integer()),
	lastError: Nullable(t.String()),
	nextAttemptAt: Nullable(Time),
	lastAttemptAt: Nullable(Time),
	deliveredAt: Nullable(Time),
	createdAt: Time,
})
export type WebhookDelivery = typeof WebhookDelivery.static

export const webhooksModels = {
	CreateWebhook: t.Object({ url: Url, events: t.Optional(Events), sessionIds: t.Optional(SessionIds), description: t.Optional(Description) }),
	UpdateWebhook: t.Object(
		{
			url: t.Optional(Url),
			events: t.Optional(Events),
			sessionIds: t.Optional(Nullable(SessionIds)),
			description: t.Optional(Nullable(Description)),
			enabled: t.Optional(t.Boolean({ description: 'true re-enables an endpoint the dispatcher disabled; its pending deliveries resume' })),
		},
		{ minProperties: 1 },
	),
	Webhook,
	CreatedWebhook: t.Composite([Webhook, t.Object({ secret: Secret })]),
	WebhookPage: t.Object({ items: t.Array(Webhook), nextCursor: Nullable(t.String()) }),
	RotatedSecret: t.Object({
		secret: Secret,
		previousSecretExpiresAt: t.String({ format: 'date-time', description: 'Until then every attempt carries a signature by the old secret too' }),
	}),
	WebhookDelivery,
	WebhookDeliveryPage: t.Object({ items: t.Array(WebhookDelivery), nextCursor: Nullable(t.String()) }),
	TestQueued: t.Object({ deliveryId: Uuid, eventId: Uuid }),
	Replay: t.Object({
		since: t.String({
			minLength: 1,
			maxLength: 40,
			description:
				'A stream position (`1767225600000-0`, the `id` of a delivered body), an ISO-8601 time with its zone, or a date (its midnight UTC): every retained event from there on is sent again',
			examples: ['2026-12-01T00:00:00Z'],
		}),
	}),
	ReplayQueued: t.Object({
		queued: t.Integer({ description: 'Deliveries queued (events this endpoint takes); one still pending and due is not queued again, nor counted' }),
		truncated: t.Boolean({
			description:
				'The stream has trimmed old events and `since` is before the oldest it holds: events from `since` up to that one may be gone, and the replay starts there. False: the stream holds every event from `since` on',
		}),
	}),
}

export const WebhookParams = t.Object({ id: UuidInput() })
export const DeliveryParams = t.Object({ id: UuidInput(), deliveryId: UuidInput() })
export const WebhookListQuery = t.Object(PageQuery)
export const DeliveryListQuery = t.Object({
	state: t.Optional(t.Union([t.Literal('pending'), t.Literal('delivered'), t.Literal('failed')], { description: 'Only deliveries in this state' })),
	...PageQuery,
})
