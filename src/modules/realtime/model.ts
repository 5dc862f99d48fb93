import { t, type Static } from 'elysia'
import { Session } from '../sessions/model'
import { DomainEventData, type DomainEventType } from '../../core/catalogue'
import { Nullable } from '../../lib/schema'

/**
 * What `/ws/sessions` takes and sends. Every server message is one JSON text frame;
 * clients send nothing (whatever they send is ignored).
 */

export const RealtimeQuery = t.Object({
	// Optional on purpose: a missing field would fail validation before `open`, and the client would
	// see a bare error event instead of the 4401 close that tells it to log in again.
	accessToken: t.Optional(t.String({ description: 'The access token (browsers cannot set headers on a WebSocket)' })),
	since: t.Optional(
		t.String({
			description:
				'Resume after this stream position (the `id` of the last message received). Answered with `session.resync_required` and a fresh snapshot when it is malformed, unknown or older than the stream retention.',
		}),
	),
})

const StreamId = t.String({ pattern: '^\\d+-\\d+$', description: 'Stream position (`<ms>-<seq>`): what `?since=` takes' })
const Uuid = t.String({ format: 'uuid' })
const IsoTime = t.String({ format: 'date-time' })

/** First message of a connection without a usable `since`: the tenant's sessions as of stream position `id`. */
const SnapshotMessage = t.Object({
	type: t.Literal('session.snapshot'),
	id: t.String({ pattern: '^\\d+-\\d+$', description: 'Every event up to this position is reflected; the events that follow come after it' }),
	tenantId: Uuid,
	occurredAt: IsoTime,
	data: t.Object({ sessions: t.Array(Session, { description: 'As `GET /sessions` answers them, with the events up to `id` applied' }) }),
})

export const RESYNC_REASONS = ['malformed', 'unknown', 'trimmed'] as const
export type ResyncReason = (typeof RESYNC_REASONS)[number]

/** `since` cannot be resumed from; a `session.snapshot` follows, and chats/messages must be reloaded over REST. */
const ResyncRequiredMessage = t.Object({
	type: t.Literal('session.resync_required'),
	tenantId: Uuid,
	occurredAt: IsoTime,
	data: t.Object({
		since: t.String(),
		reason: t.UnionEnum(RESYNC_REASONS),
		/** The oldest position still in the stream (null when it is empty). */
		oldestId: Nullable(StreamId),
	}),
})

/** A domain event as it goes out: the stream envelope with `id` = stream position and the envelope's uuid as `eventId`. */
const eventMessage = <K extends DomainEventType>(type: K) =>
	t.Object({
		id: StreamId,
		eventId: Uuid,
		type: t.Literal(type),
		tenantId: Uuid,
		sessionId: Uuid,
		occurredAt: IsoTime,
		data: DomainEventData[type],
	})

/**
 * Every event type, spelled out: Elysia types a route's schema member by member, and a union built
 * with `DOMAIN_EVENT_TYPES.map()` would reach Eden clients without its events. The type below fails
 * the build when the catalogue gains a type this list lacks.
 */
const EVENT_TYPES = [
	'session.created',
	'session.deleted',
	'session.qr.updated',
	'session.pairing_code.updated',
	'session.status.connected',
	'session.status.disconnected',
	'session.history.sync',
	'session.messages.upsert',
	'session.messages.update',
	'session.contacts.upsert',
	'session.chats.upsert',
	'session.media.updated',
	'session.groups.upsert',
	'session.groups.update',
	'session.group_participants.update',
	'session.command.completed',
	'session.presence.updated',
	'session.command.failed',
] as const satisfies readonly DomainEventType[]
const listsEveryType: Exclude<DomainEventType, (typeof EVENT_TYPES)[number]> extends never ? true : false = true
type EventMessages<Types extends readonly DomainEventType[]> = { -readonly [I in keyof Types]: ReturnType<typeof eventMessage<Types[I]>> }

export const RealtimeMessage = t.Union([
	SnapshotMessage,
	ResyncRequiredMessage,
	...(EVENT_TYPES.map(eventMessage) as unknown as EventMessages<typeof EVENT_TYPES>),
])
void listsEveryType
export type RealtimeMessage = Static<typeof RealtimeMessage>

/** Close codes of `/ws/sessions`. */
export const CLOSE = {
	/** Server shutting down: reconnect (to any instance) with `since`. */
	goingAway: 1001,
	/** The server failed (database or Redis away); reconnect with `since` after a pause. */
	internal: 1011,
	/** The client did not read fast enough (send buffer bound); reconnect with `since`. */
	slowConsumer: 1013,
	/** Missing, invalid, expired or revoked access token: get a new one, then reconnect. */
	unauthorized: 4401,
	/** An API key without the scope the socket needs (`messages:read`). */
	forbidden: 4403,
	/** A key or user past its rate limit (reconnect after the time the reason gives), or the tenant holds as many sockets as it may. */
	rateLimited: 4429,
} as const
