import { type AnyColumn, and, eq, inArray, type SQL, sql } from 'drizzle-orm'
import type { AnyEnvelope } from '../core/catalogue'
import { eventFilter, splitPosition, wireEvent } from '../core/webhooks'
import type { Db } from './client'
import { arrayLiteral } from './arrays'
import { executePrepared } from './prepared'
import { rowsOf } from './projection/statements'
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

/** Lanes (`endpointId`, `sessionId`) the caller wants to send itself; `extend`: it holds the lane already and sends it now. */
export interface HandOff {
	owner: string
	lockMs: number
	lanes: { endpointId: string; sessionId: string; extend: boolean }[]
}

/**
 * Inserts deliveries. With a hand-off, the rows of each offered lane are inserted already held by
 * `owner` (locked for `lockMs`) when nothing else of that lane waits: no pending row at all for a
 * new lane, none but `owner`'s live ones for a lane it extends. The check and the insert are one
 * statement; the caller has made sure that no earlier stream event is still unrecorded. Resolves
 * with how many rows were written (inserted, or queued again by a requeue) and the ids of those
 * inserted held.
 */
async function insert(
	db: Db,
	rows: NewDelivery[],
	onConflict: 'ignore' | 'requeue',
	handOff?: HandOff,
): Promise<{ written: number; held: Set<string> }> {
	if (!rows.length) return { written: 0, held: new Set() }
	const lanes = handOff?.lanes ?? []
	// One array a column: PostgreSQL reads arrays of long bodies at about half the cost of a JSON
	// document holding them, and this is the role's hottest write.
	const column = <K extends keyof NewDelivery>(key: K) => arrayLiteral(rows.map((r) => r[key]))
	const values = sql`select i.id, i.e, i.ev, i.t, i.s, i.pm, i.ps, i.b,
			case when h.e is null then null else now() + ${handOff?.lockMs ?? 0} * interval '1 millisecond' end,
			case when h.e is null then null else ${handOff?.owner ?? ''} end
		from unnest(${column('id')}::text::uuid[], ${column('e')}::text::uuid[], ${column('ev')}::text::uuid[], ${column('t')}::text::text[],
			${column('s')}::text::uuid[], ${column('pm')}::text::bigint[], ${column('ps')}::text::bigint[], ${column('b')}::text::text[])
			as i(id, e, ev, t, s, pm, ps, b)
		left join (
			select l.e, l.s from unnest(${arrayLiteral(lanes.map((l) => l.endpointId))}::text::uuid[],
				${arrayLiteral(lanes.map((l) => l.sessionId))}::text::uuid[], ${arrayLiteral(lanes.map((l) => l.extend))}::text::boolean[]) as l(e, s, x)
			where not exists (
				select 1 from webhook_deliveries d
				where d.endpoint_id = l.e and d.session_id = l.s and d.state = 'pending'
					and (not l.x or d.lock_owner is distinct from ${handOff?.owner ?? ''} or d.locked_until < now()))
		) h on h.e = i.e and h.s = i.s`
	const columns = sql`webhook_deliveries (id, endpoint_id, event_id, event_type, session_id, position_ms, position_seq, body, locked_until, lock_owner)`
	const result =
		onConflict === 'ignore'
			? await executePrepared(
					db,
					'webhook_enqueue',
					sql`insert into ${columns} ${values} on conflict (endpoint_id, event_id) do nothing returning id, lock_owner is not null as held`,
				)
			: await db.execute(sql`insert into ${columns} ${values}
				on conflict (endpoint_id, event_id) do update set state = 'pending', attempts = 0, next_attempt_at = now(), last_error = null, delivered_at = null
				-- A delivery still waiting for its retry is sent now too: a replay asks for it now.
				where webhook_deliveries.state <> 'pending' or webhook_deliveries.next_attempt_at > now()
				returning id, false as held`)
	const written = rowsOf<{ id: string; held: boolean | string }>(result)
	return { written: written.length, held: new Set(written.filter((r) => r.held === true || r.held === 't').map((r) => String(r.id))) }
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

/** A bytea value as the drivers return it: a Buffer (postgres.js), bytes or `\x` hex (PGlite). */
export const toBuffer = (value: unknown): Buffer | null =>
	value == null
		? null
		: Buffer.isBuffer(value)
			? value
			: typeof value === 'string'
				? Buffer.from(value.replace(/^\\x/, ''), 'hex')
				: Buffer.from(value as Uint8Array)

/** Bytea values as the drivers return them in an array. */
export const toBuffers = (values: unknown): Buffer[] => ((values as unknown[] | null) ?? []).map((v) => toBuffer(v)!)

/**
 * The secrets rotations took out of use at the endpoint whose id is `endpointId` that still sign,
 * newest first: a bytea array.
 */
export const previousSecretsOf = (endpointId: AnyColumn | SQL) =>
	sql`array(select p.secret from webhook_previous_secrets p where p.endpoint_id = ${endpointId} and p.expires_at > now() order by p.expires_at desc)`

/** A delivery inserted held by the caller, with what sending it takes. */
export interface HeldDelivery {
	id: string
	endpointId: string
	eventId: string
	sessionId: string
	positionMs: number
	positionSeq: number
	body: string
	url: string
	secret: Buffer
	/** Rotated out, still signing beside `secret`. */
	previousSecrets: Buffer[]
}

/**
 * Records a delivery of each event for every enabled endpoint of its tenant that takes it. Safe to
 * repeat (a redelivered stream entry): an endpoint gets an event once. `offer` is asked which of
 * the events' lanes the caller would send itself (see `HandOff`). Resolves with the number of
 * deliveries the events made (new or not) and those inserted held, in stream order.
 */
export async function enqueueEvents(
	db: Db,
	events: readonly PositionedEvent[],
	offer?: (lanes: { endpointId: string; sessionId: string }[]) => HandOff | null,
): Promise<{ count: number; held: HeldDelivery[] }> {
	if (!events.length) return { count: 0, held: [] }
	const tenantIds = [...new Set(events.map((e) => e.envelope.tenantId))]
	const endpoints = (
		await db
			.select({
				id: webhookEndpoints.id,
				tenantId: webhookEndpoints.tenantId,
				events: webhookEndpoints.events,
				sessionIds: webhookEndpoints.sessionIds,
				createdAt: webhookEndpoints.createdAt,
				url: webhookEndpoints.url,
				secret: webhookEndpoints.secret,
				previousSecrets: previousSecretsOf(webhookEndpoints.id),
			})
			.from(webhookEndpoints)
			.where(and(eq(webhookEndpoints.enabled, true), inArray(webhookEndpoints.tenantId, tenantIds)))
	).map((e) => ({ ...e, createdAtMs: e.createdAt.getTime(), accepts: eventFilter(e.events) }))
	if (!endpoints.length) return { count: 0, held: [] }
	const planned = events.flatMap((event) => endpoints.filter((e) => matches(e, event)).map((e) => ({ endpoint: e, row: row(e.id, event) })))
	const lanes = new Map<string, { endpointId: string; sessionId: string }>()
	for (const { row: r } of planned) if (r.s !== null) lanes.set(`${r.e}:${r.s}`, { endpointId: r.e, sessionId: r.s })
	const handOff = offer && lanes.size ? offer([...lanes.values()]) : null
	const { held: heldIds } = await insert(
		db,
		planned.map((p) => p.row),
		'ignore',
		handOff ?? undefined,
	)
	const held = planned
		.filter((p) => heldIds.has(p.row.id))
		.map(({ endpoint, row: r }) => ({
			id: r.id,
			endpointId: r.e,
			eventId: r.ev,
			sessionId: r.s!,
			positionMs: r.pm!,
			positionSeq: r.ps!,
			body: r.b,
			url: endpoint.url,
			secret: endpoint.secret,
			previousSecrets: toBuffers(endpoint.previousSecrets),
		}))
	return { count: planned.length, held }
}

/**
 * Sends these events to one endpoint again (a replay): new deliveries for events it never had,
 * and those it had go back to pending with a fresh attempt count, keeping their `webhook-id`; one
 * waiting for a retry is due now. Answers how many it queued: one still pending and due counts
 * for none, as nothing changes for it.
 */
export async function requeueEvents(
	db: Db,
	endpoint: { id: string; events: string[]; sessionIds: string[] | null; tenantId: string },
	events: readonly PositionedEvent[],
) {
	const filter = { ...endpoint, createdAtMs: 0, accepts: eventFilter(endpoint.events) }
	const rows = events.filter((e) => matches(filter, e)).map((e) => row(endpoint.id, e))
	return (await insert(db, rows, 'requeue')).written
}

/** A delivery outside the stream (`webhook.test`): no session, so no ordering lane. */
export async function enqueueStandalone(db: Db, endpointId: string, envelope: { id: string; type: string; body: string }): Promise<string> {
	const id = Bun.randomUUIDv7()
	await insert(db, [{ id, e: endpointId, ev: envelope.id, t: envelope.type, s: null, pm: null, ps: null, b: envelope.body }], 'ignore')
	return id
}
