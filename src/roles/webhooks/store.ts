import { sql } from 'drizzle-orm'
import type { Db } from '../../db/client'
import { executePrepared } from '../../db/prepared'
import { arrayLiteral } from '../../db/arrays'
import { previousSecretsOf, toBuffer, toBuffers } from '../../db/webhooks'
import { rowsOf } from '../../db/projection/statements'
import { storableExcerpt } from '../../lib/text'

/** A delivery a dispatcher holds: what it sends, and where, signed with which secrets. */
export interface ClaimedDelivery {
	id: string
	endpointId: string
	eventId: string
	/** The lane: with `endpointId`, what is delivered in order. */
	sessionId: string | null
	positionMs: number | null
	positionSeq: number | null
	/** False for a row behind its lane's head that waits for a retry time of its own: the lane stops there. */
	due: boolean
	body: string
	/** This attempt's number (1 for the first). */
	attempt: number
	url: string
	secret: Buffer
	/** The secrets rotations took out of use that still sign beside `secret`, newest first. */
	previousSecrets: Buffer[]
	/** When the delivery was recorded: its age when it finally goes out. */
	createdAtMs: number
	/** The claim locked this row (a run's first and last rows hold the lane); a release unlocks only these. */
	locked: boolean
	/** Epoch ms (this process's clock, taken before the lock was) by which the lock runs out at the earliest. */
	lockedUntil: number
	/** For a row the claim did not lock: the row whose lock holds the lane for this run (the run's last). */
	holder: string | null
}

/** How far the stream is safe to deliver: every event at or before it has its deliveries recorded. */
export interface Watermark {
	ms: number
	seq: number
	/** True: deliveries at the position itself wait too (it is the oldest event not recorded yet). */
	strict: boolean
}

/** The lanes each endpoint sends now (see SlotShare), as a claim takes them. */
export interface SlotTurns {
	endpointIds: string[]
	lanes: number[]
}

/** A position's bound by the watermark: before it, or at it too when it is not strict. */
const withinMark = (w: Watermark) => sql`${w.strict ? sql`<` : sql`<=`} (${w.ms}::bigint, ${w.seq}::bigint)`

const laneOrder = sql`order by d.endpoint_id, d.session_id, d.position_ms, d.position_seq limit 1`

/**
 * The candidate heads: each lane's earliest pending delivery, found by a skip scan over the lane
 * index (one probe per lane), and every pending delivery outside a lane.
 */
const laneHeads = sql`lane_heads as (
			(select d.id, d.endpoint_id, d.session_id from webhook_deliveries d
				where d.state = 'pending' and d.session_id is not null ${laneOrder})
			union all
			select n.* from lane_heads h cross join lateral (
				select d.id, d.endpoint_id, d.session_id from webhook_deliveries d
				where d.state = 'pending' and d.session_id is not null and (d.endpoint_id, d.session_id) > (h.endpoint_id, h.session_id)
				${laneOrder}
			) n
		), candidates as (
			select id from lane_heads
			union all select d.id from webhook_deliveries d where d.state = 'pending' and d.session_id is null
		)`

/**
 * Whether the candidate head `d` (of endpoint `e`) may go now: its time has come, its endpoint is
 * enabled and not passed over, it is not past the watermark, and nobody holds its lane.
 */
function dueHead(watermark: Watermark, passOver: readonly string[]) {
	return sql`d.id in (select id from candidates) and d.state = 'pending' and d.next_attempt_at <= now() and e.enabled
				and d.endpoint_id <> all(${arrayLiteral(passOver)}::text::uuid[])
				and (d.locked_until is null or d.locked_until < now())
				and (d.position_ms is null or (d.position_ms, d.position_seq) ${withinMark(watermark)})
				and (d.session_id is null or not exists (
					select 1 from webhook_deliveries m
					where m.endpoint_id = d.endpoint_id and m.session_id = d.session_id and m.state = 'pending'
						and m.locked_until is not null and m.locked_until >= now()))`
}

/**
 * Endpoints, other than `sending`, with a lane that a claim could take now: what a dispatcher whose
 * slots are all busy asks, so that its lanes make room for them (see SlotShare).
 */
export async function waitingEndpoints(
	db: Db,
	watermark: Watermark,
	sending: readonly string[],
	passOver: readonly string[],
	limit: number,
): Promise<string[]> {
	const result = await executePrepared(
		db,
		'webhook_waiting',
		sql`
		with recursive ${laneHeads}
		select distinct d.endpoint_id from webhook_deliveries d join webhook_endpoints e on e.id = d.endpoint_id
		where ${dueHead(watermark, passOver)} and d.endpoint_id <> all(${arrayLiteral(sending)}::text::uuid[])
		limit ${limit}`,
	)
	return rowsOf<{ endpoint_id: string }>(result).map((r) => String(r.endpoint_id))
}

/**
 * Takes up to `lanes` due lanes (endpoint, session), each with a run of up to `perLane` of its
 * queued deliveries in order, and holds each lane for `lockMs` under `owner`. A lane's head is its
 * earliest pending delivery; the lane is due when the head's endpoint is enabled, its time has
 * come, it is not past the watermark, and nobody holds the lane: a failing delivery holds back that
 * lane only. Heads are found by a skip scan over the lane index, one probe per lane, so a claim
 * costs the same however long the queues behind the heads are.
 *
 * Only two rows of a run are written: its head and its last row get the lock. The head's lock is
 * what a concurrent claim trips over (`SKIP LOCKED`, then the re-check of the updated head); the
 * last row's lock keeps the lane held while the run's earlier rows are delivered one by one. A
 * lane is held while any of its pending rows has a lock that has not run out. Deliveries outside
 * the stream (test events) have no lane: each is a run of its own.
 */
export async function claimDue(
	db: Db,
	owner: string,
	lanes: number,
	perLane: number,
	lockMs: number,
	watermark: Watermark,
	/** Endpoints whose lanes should not start now (see EndpointBreaker). */
	passOver: readonly string[] = [],
	/** The lanes each endpoint sends now: those that send fewer get the first slots (see SlotShare). */
	turns: SlotTurns = { endpointIds: [], lanes: [] },
): Promise<ClaimedDelivery[]> {
	// Taken before the claim, so it never runs past the locks the claim takes.
	const lockedUntil = Date.now() + lockMs
	const result = await executePrepared(
		db,
		'webhook_claim',
		sql`
		with recursive ${laneHeads}, turns as (
			-- An endpoint's n-th due lane comes after every endpoint's lanes that leave it sending fewer.
			select d.id, row_number() over (partition by d.endpoint_id order by d.next_attempt_at, d.position_ms, d.position_seq)
				+ coalesce(s.lanes, 0) as turn
			from webhook_deliveries d
			left join unnest(${arrayLiteral(turns.endpointIds)}::text::uuid[], ${arrayLiteral(turns.lanes)}::text::int[]) as s(e, lanes)
				on s.e = d.endpoint_id
			where d.id in (select id from candidates) and d.state = 'pending' and d.next_attempt_at <= now()
		), heads as (
			select d.id, d.endpoint_id, d.session_id, d.position_ms, d.position_seq from webhook_deliveries d
			join webhook_endpoints e on e.id = d.endpoint_id
			join turns t on t.id = d.id
			where ${dueHead(watermark, passOver)}
			order by t.turn, d.next_attempt_at, d.position_ms, d.position_seq
			limit ${lanes}
			for update of d skip locked
		), runs as (
			select h.id as head, r.id, r.n from heads h
			cross join lateral (
				select d.id, row_number() over (order by d.position_ms, d.position_seq) as n from webhook_deliveries d
				where d.id = h.id or (h.session_id is not null and d.endpoint_id = h.endpoint_id and d.session_id = h.session_id
					and d.state = 'pending' and (d.position_ms, d.position_seq) ${withinMark(watermark)})
				order by d.position_ms, d.position_seq
				limit ${Math.max(perLane, 1)}
			) r
		), holders as (
			select id from heads
			union (select distinct on (head) id from runs order by head, n desc)
		), held as (
			update webhook_deliveries d
			set locked_until = now() + ${lockMs} * interval '1 millisecond', lock_owner = ${owner}
			where d.id in (select id from holders)
			returning d.id
		)
		select d.id, d.endpoint_id, d.event_id, d.session_id, d.position_ms, d.position_seq, d.body, d.attempts, e.url, e.secret,
			d.next_attempt_at <= now() as due,
			d.id in (select id from held) as locked,
			${previousSecretsOf(sql`e.id`)} as previous_secrets,
			(extract(epoch from d.created_at) * 1000)::float8 as created_ms
		from runs join webhook_deliveries d on d.id = runs.id join webhook_endpoints e on e.id = d.endpoint_id`,
	)
	return rowsOf<Record<string, unknown>>(result).map((r) => ({
		id: String(r.id),
		endpointId: String(r.endpoint_id),
		eventId: String(r.event_id),
		sessionId: r.session_id == null ? null : String(r.session_id),
		positionMs: r.position_ms == null ? null : Number(r.position_ms),
		positionSeq: r.position_seq == null ? null : Number(r.position_seq),
		due: r.due === true || r.due === 't',
		body: String(r.body),
		attempt: Number(r.attempts) + 1,
		url: String(r.url),
		secret: toBuffer(r.secret)!,
		previousSecrets: toBuffers(r.previous_secrets),
		createdAtMs: Number(r.created_ms),
		locked: r.locked === true || r.locked === 't',
		lockedUntil,
		holder: null,
	}))
}

/**
 * The lock name of rows a dispatcher took straight from the stream: apart from its claims' name,
 * so that a lane it extends can be told from a lane it claimed.
 */
export const handedBy = (owner: string) => `${owner}:stream`

/** What became of one attempt. */
export interface AttemptResult {
	id: string
	endpointId: string
	/** `released`: claimed but not attempted (its lane stopped before it); only the lock is given back. */
	state: 'pending' | 'delivered' | 'failed' | 'released'
	/** Epoch ms of the next attempt (pending only). */
	nextAttemptAt: number | null
	statusCode: number | null
	latencyMs: number
	error: string | null
	/** The receiver answered 410 Gone: the endpoint is disabled. */
	gone: boolean
	/** No answer came within the timeout (see EndpointBreaker); absent for a release. */
	timedOut?: boolean
	/** The row whose lock holds the lane, when this row holds no lock of its own (see `ClaimedDelivery`). */
	holder: string | null
}

/**
 * Writes the outcomes of finished attempts and releases their rows, then keeps each endpoint's
 * health: a success clears `failing_since`, a failure sets it, and an endpoint failing for
 * `disableAfterMs` (or answering 410) is disabled. Only rows this dispatcher still holds (the row,
 * or its lane) are written: one whose lock ran out belongs to whoever took it next. Resolves with
 * the endpoints it disabled, and each endpoint of the outcomes as it is now (see `Recorded`).
 */
export async function recordAttempts(db: Db, owner: string, results: readonly AttemptResult[], disableAfterMs: number): Promise<Recorded> {
	if (!results.length) return { disabled: [], endpoints: new Map() }
	const rows = results.map((r) => ({
		id: r.id,
		s: r.state,
		n: r.nextAttemptAt,
		c: r.statusCode,
		l: Math.round(r.latencyMs),
		// Error text holds what a receiver answered: one NUL or half an emoji would fail the whole batch.
		x: r.error === null ? null : storableExcerpt(r.error, 1000),
		h: r.holder,
	}))
	// Per endpoint: did any of its attempts succeed, and did it answer 410.
	const health = new Map<string, { e: string; ok: boolean; gone: boolean; tried: boolean }>()
	for (const r of results) {
		const h = health.get(r.endpointId) ?? { e: r.endpointId, ok: false, gone: false, tried: false }
		if (r.state !== 'released') h.tried = true
		if (r.state === 'delivered') h.ok = true
		if (r.gone) h.gone = true
		health.set(r.endpointId, h)
	}
	const endpoints = [...health.values()].filter((h) => h.tried)
	const handed = handedBy(owner)
	// Failing since longer than allowed, and this batch brought no success.
	const expired = sql`(not a.ok and coalesce(w.failing_since < now() - ${disableAfterMs} * interval '1 millisecond', false))`
	// One statement (one round trip, atomic): the deliveries (a data-modifying CTE always runs), their endpoints' health, and the endpoints as they are now.
	const result = await executePrepared(
		db,
		'webhook_record',
		sql`
		with written as (
			update webhook_deliveries d
			set state = case when r.s = 'released' then d.state else r.s end,
				attempts = d.attempts + case when r.s = 'released' then 0 else 1 end,
				last_attempt_at = case when r.s = 'released' then d.last_attempt_at else now() end,
				next_attempt_at = coalesce(to_timestamp(r.n / 1000.0), d.next_attempt_at),
				last_status_code = case when r.s = 'released' then d.last_status_code else r.c end,
				last_latency_ms = case when r.s = 'released' then d.last_latency_ms else r.l end,
				last_error = case when r.s = 'released' then d.last_error else r.x end,
				delivered_at = case when r.s = 'delivered' then now() else d.delivered_at end,
				locked_until = null, lock_owner = null
			from json_to_recordset(${JSON.stringify(rows)}::text::json) as r(id uuid, s text, n float8, c int, l int, x text, h uuid)
			-- The id list lets the planner probe the primary key rather than scan the table for the join.
			where d.id = any(${arrayLiteral(results.map((r) => r.id))}::text::uuid[]) and d.id = r.id
				-- Only while this dispatcher still holds the row, or the row that holds its lane for the run: one
				-- probe by primary key, not a look through the lane's queue.
				and (d.lock_owner in (${owner}, ${handed}) or exists (
					select 1 from webhook_deliveries m
					where m.id = r.h and m.state = 'pending' and m.locked_until >= now() and m.lock_owner in (${owner}, ${handed})))
		), health as (
			update webhook_endpoints w
			set failing_since = case when a.ok then null else coalesce(w.failing_since, now()) end,
				enabled = not (a.gone or ${expired}),
				disabled_reason = case when a.gone then 'gone' when ${expired} then 'failing' else w.disabled_reason end,
				updated_at = case when a.gone or ${expired} then now() else w.updated_at end
			from json_to_recordset(${JSON.stringify(endpoints)}::text::json) as a(e uuid, ok boolean, gone boolean)
			where w.id = a.e and w.enabled and (not a.ok or a.gone or w.failing_since is not null)
			returning w.id, w.enabled
		)
		-- The endpoints as they are now (a deleted one: no row), so lanes still sending see a change.
		select e.id, coalesce(h.enabled, e.enabled) as enabled, h.id is not null and not h.enabled as disabled_now, e.url, e.secret,
			${previousSecretsOf(sql`e.id`)} as previous_secrets
		from webhook_endpoints e left join health h on h.id = e.id
		where e.id = any(${arrayLiteral([...health.keys()])}::text::uuid[])`,
	)
	const now = rowsOf<Record<string, unknown>>(result)
	return {
		disabled: now.filter((r) => r.disabled_now === true || r.disabled_now === 't').map((r) => String(r.id)),
		endpoints: new Map(
			[...health.keys()].map((id) => {
				const r = now.find((row) => String(row.id) === id)
				const enabled = r !== undefined && (r.enabled === true || r.enabled === 't')
				return [id, r && enabled ? { url: String(r.url), secret: toBuffer(r.secret)!, previousSecrets: toBuffers(r.previous_secrets) } : null]
			}),
		),
	}
}

/** An endpoint as a lane sends to it. */
export interface EndpointTarget {
	url: string
	secret: Buffer
	previousSecrets: Buffer[]
}

/** What an outcome write did and saw. */
export interface Recorded {
	/** Endpoints it disabled (410, or failing too long). */
	disabled: string[]
	/** Each endpoint of the written outcomes as it is now; null when disabled or deleted. */
	endpoints: Map<string, EndpointTarget | null>
}

/** The backlog as metrics show it: per enabled endpoint with pending deliveries, the age of its oldest one, in seconds. */
export async function backlogAges(db: Db): Promise<number[]> {
	const result = await db.execute(sql`
		select extract(epoch from now() - min(d.created_at))::float8 as age
		from webhook_deliveries d join webhook_endpoints e on e.id = d.endpoint_id and e.enabled
		where d.state = 'pending' group by d.endpoint_id`)
	return rowsOf<{ age: number }>(result).map((r) => Math.max(0, Number(r.age)))
}
