import { and, eq, inArray, sql } from 'drizzle-orm'
import type { AnyEnvelope } from '../core/catalogue'
import { eventFilter, splitPosition, wireEvent } from '../core/webhooks'
import type { Db } from './client'
import { webhookEndpoints } from './schema'

/**
 * The delivery table's writes, shared by the webhooks role (events in, attempts out) and the API
 * (test events, retries, replays). A row exists before its first attempt and is only ever moved
 * forward by whoever holds its lock.
 */

export interface PositionedEvent {
	/** Stream position (`<ms>-<seq>`). */
	position: string
	envelope: AnyEnvelope
}

interface NewDelivery {
	id: string
	e: string
	ev: string
	t: string
	s: string | null
	pm: number | null
	ps: number | null
	b: string
}

async function insert(db: Db, rows: NewDelivery[], onConflict: string): Promise<void> {
	if (!rows.length) return
	await db.execute(sql`insert into webhook_deliveries (id, endpoint_id, event_id, event_type, session_id, position_ms, position_seq, body)
		select r.id, r.e, r.ev, r.t, r.s, r.pm, r.ps, r.b
		from json_to_recordset(${JSON.stringify(rows)}::text::json) as r(id uuid, e uuid, ev uuid, t text, s uuid, pm bigint, ps bigint, b text)
		${sql.raw(onConflict)}`)
}

const row = (endpointId: string, { position, envelope }: PositionedEvent): NewDelivery => {
	const { ms, seq } = splitPosition(position)
	return {
		id: Bun.randomUUIDv7(),
		e: endpointId,
		ev: envelope.id,
		t: envelope.type,
		s: envelope.sessionId,
		pm: ms,
		ps: seq,
		b: wireEvent(position, envelope),
	}
}

interface EndpointFilter {
	id: string
	tenantId: string
	/** Events appended to the stream before the endpoint existed are not its (a replay sends them on purpose). */
	createdAtMs: number
	accepts: (type: string) => boolean
	sessionIds: string[] | null
}

const matches = (endpoint: EndpointFilter, { position, envelope }: PositionedEvent) =>
	endpoint.tenantId === envelope.tenantId &&
	splitPosition(position).ms >= endpoint.createdAtMs &&
	endpoint.accepts(envelope.type) &&
	(endpoint.sessionIds === null || endpoint.sessionIds.includes(envelope.sessionId))

/**
 * Records a delivery of each event for every enabled endpoint of its tenant that takes it. Safe to
 * repeat (a redelivered stream entry): an endpoint gets an event once. Resolves with the number of
 * deliveries the events made (new or not).
 */
export async function enqueueEvents(db: Db, events: readonly PositionedEvent[]): Promise<number> {
	if (!events.length) return 0
	const tenantIds = [...new Set(events.map((e) => e.envelope.tenantId))]
	const endpoints = (
		await db
			.select({
				id: webhookEndpoints.id,
				tenantId: webhookEndpoints.tenantId,
				events: webhookEndpoints.events,
				sessionIds: webhookEndpoints.sessionIds,
				createdAt: webhookEndpoints.createdAt,
			})
			.from(webhookEndpoints)
			.where(and(eq(webhookEndpoints.enabled, true), inArray(webhookEndpoints.tenantId, tenantIds)))
	).map((e) => ({ ...e, createdAtMs: e.createdAt.getTime(), accepts: eventFilter(e.events) }))
	if (!endpoints.length) return 0
	const rows = events.flatMap((event) => endpoints.filter((e) => matches(e, event)).map((e) => row(e.id, event)))
	await insert(db, rows, 'on conflict (endpoint_id, event_id) do nothing')
	return rows.length
}

/**
 * Sends these events to one endpoint again (a replay): new deliveries for events it never had,
 * and those it had go back to pending with a fresh attempt count, keeping their `webhook-id`.
 */
export async function requeueEvents(
	db: Db,
	endpoint: { id: string; events: string[]; sessionIds: string[] | null; tenantId: string },
	events: readonly PositionedEvent[],
) {
	const filter = { ...endpoint, createdAtMs: 0, accepts: eventFilter(endpoint.events) }
	const rows = events.filter((e) => matches(filter, e)).map((e) => row(endpoint.id, e))
	await insert(
		db,
		rows,
		`on conflict (endpoint_id, event_id) do update set state = 'pending', attempts = 0, next_attempt_at = now(), last_error = null
		where webhook_deliveries.state <> 'pending'`,
	)
	return rows.length
}

/** A delivery outside the stream (`webhook.test`): no session, so no ordering lane. */
export async function enqueueStandalone(db: Db, endpointId: string, envelope: { id: string; type: string; body: string }): Promise<string> {
	const id = Bun.randomUUIDv7()
	await insert(
		db,
		[{ id, e: endpointId, ev: envelope.id, t: envelope.type, s: null, pm: null, ps: null, b: envelope.body }],
		'on conflict do nothing',
	)
	return id
}
