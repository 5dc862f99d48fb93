import { sql } from 'drizzle-orm'
import type { Db } from '../../db/client'
import { rowsOf } from '../../db/projection/statements'

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
	/** The secret before the last rotation while it still signs beside the new one. */
	previousSecret: Buffer | null
	/** When the delivery was recorded: its age when it finally goes out. */
	createdAtMs: number
}

/** How far the stream is safe to deliver: every event at or before it has its deliveries recorded. */
export interface Watermark {
	ms: number
	seq: number
	/** True: deliveries at the position itself wait too (it is the oldest event not recorded yet). */
	strict: boolean
}

const toBuffer = (value: unknown): Buffer | null =>
	value == null
		? null
		: Buffer.isBuffer(value)
			? value
			: typeof value === 'string'
				? Buffer.from(value.replace(/^\\x/, ''), 'hex')
				: Buffer.from(value as Uint8Array)

/**
 * Takes up to `lanes` due deliveries, each the head of its (endpoint, session) lane, with up to
 * `perLane - 1` of the deliveries queued behind it in that lane, and locks them all for `lockMs`
 * under `owner`. A head is due when its endpoint is enabled, its time has come, nobody holds it,
 * it is not past the watermark, and no earlier delivery of its lane is still pending: a failing
 * delivery holds back that lane only. The dispatcher sends a lane's rows one after the other and
 * releases what it did not send. `SKIP LOCKED` lets several dispatchers claim side by side.
 */
export async function claimDue(
	db: Db,
	owner: string,
	lanes: number,
	perLane: number,
	lockMs: number,
	watermark: Watermark,
): Promise<ClaimedDelivery[]> {
	const beyond = watermark.strict ? sql`<` : sql`<=`
	const mark = sql`(${watermark.ms}::bigint, ${watermark.seq}::bigint)`
	const result = await db.execute(sql`
		with heads as (
			select d.id, d.endpoint_id, d.session_id, d.position_ms, d.position_seq from webhook_deliveries d
			join webhook_endpoints e on e.id = d.endpoint_id
			where d.state = 'pending' and d.next_attempt_at <= now() and e.enabled
				and (d.locked_until is null or d.locked_until < now())
				and (d.position_ms is null or (d.position_ms, d.position_seq) ${beyond} ${mark})
				and (d.session_id is null or not exists (
					select 1 from webhook_deliveries p
					where p.endpoint_id = d.endpoint_id and p.session_id = d.session_id and p.state = 'pending'
						and (p.position_ms, p.position_seq) < (d.position_ms, d.position_seq)))
			order by d.next_attempt_at, d.position_ms, d.position_seq
			limit ${lanes}
			for update of d skip locked
		), followers as (
			-- The rows right behind each head, up to the first one somebody else still holds: a lane's
			-- rows go out in order, so a claim never skips one.
			select f.id from heads h
			cross join lateral (
				select x.id from (
					select d.id, count(*) filter (where d.locked_until >= now()) over (order by d.position_ms, d.position_seq) as held
					from webhook_deliveries d
					where h.session_id is not null and d.endpoint_id = h.endpoint_id and d.session_id = h.session_id and d.state = 'pending'
						and (d.position_ms, d.position_seq) > (h.position_ms, h.position_seq)
						and (d.position_ms, d.position_seq) ${beyond} ${mark}
					order by d.position_ms, d.position_seq
					limit ${Math.max(perLane - 1, 0)}
				) x
				where x.held = 0
			) f
		), claimed as (select id from heads union all select id from followers)
		update webhook_deliveries d
		set locked_until = now() + ${lockMs} * interval '1 millisecond', lock_owner = ${owner}
		from claimed, webhook_endpoints e
		where d.id = claimed.id and e.id = d.endpoint_id
		returning d.id, d.endpoint_id, d.event_id, d.session_id, d.position_ms, d.position_seq, d.body, d.attempts, e.url, e.secret,
			d.next_attempt_at <= now() as due,
			case when e.previous_secret_expires_at > now() then e.previous_secret end as previous_secret,
			(extract(epoch from d.created_at) * 1000)::float8 as created_ms`)
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
		previousSecret: toBuffer(r.previous_secret),
		createdAtMs: Number(r.created_ms),
	}))
}

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
}

/**
 * Writes the outcomes of finished attempts and releases their rows, then keeps each endpoint's
 * health: a success clears `failing_since`, a failure sets it, and an endpoint failing for
 * `disableAfterMs` (or answering 410) is disabled. Only rows this dispatcher still holds are
 * written: one whose lock ran out belongs to whoever took it next. Resolves with the endpoints
 * it disabled.
 */
export async function recordAttempts(db: Db, owner: string, results: readonly AttemptResult[], disableAfterMs: number): Promise<string[]> {
	if (!results.length) return []
	const rows = results.map((r) => ({
		id: r.id,
		s: r.state,
		n: r.nextAttemptAt,
		c: r.statusCode,
		l: Math.round(r.latencyMs),
		x: r.error?.slice(0, 1000) ?? null,
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
	// Failing since longer than allowed, and this batch brought no success.
	const expired = sql`(not a.ok and coalesce(w.failing_since < now() - ${disableAfterMs} * interval '1 millisecond', false))`
	// One statement (one round trip, atomic): the deliveries (a data-modifying CTE always runs), then their endpoints' health.
	const result = await db.execute(sql`
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
			from json_to_recordset(${JSON.stringify(rows)}::text::json) as r(id uuid, s text, n float8, c int, l int, x text)
			-- The id list lets the planner probe the primary key rather than scan the table for the join.
			where d.id = any(${`{${results.map((r) => r.id).join(',')}}`}::uuid[]) and d.id = r.id and d.lock_owner = ${owner}
		)
		update webhook_endpoints w
		set failing_since = case when a.ok then null else coalesce(w.failing_since, now()) end,
			enabled = not (a.gone or ${expired}),
			disabled_reason = case when a.gone then 'gone' when ${expired} then 'failing' else w.disabled_reason end,
			updated_at = case when a.gone or ${expired} then now() else w.updated_at end
		from json_to_recordset(${JSON.stringify(endpoints)}::text::json) as a(e uuid, ok boolean, gone boolean)
		where w.id = a.e and w.enabled and (not a.ok or a.gone or w.failing_since is not null)
		returning w.id, w.enabled`)
	return rowsOf<{ id: string; enabled: boolean }>(result)
		.filter((r) => !r.enabled)
		.map((r) => String(r.id))
}

/** The backlog as metrics show it: per enabled endpoint with pending deliveries, the age of its oldest one, in seconds. */
export async function backlogAges(db: Db): Promise<number[]> {
	const result = await db.execute(sql`
		select extract(epoch from now() - min(d.created_at))::float8 as age
		from webhook_deliveries d join webhook_endpoints e on e.id = d.endpoint_id and e.enabled
		where d.state = 'pending' group by d.endpoint_id`)
	return rowsOf<{ age: number }>(result).map((r) => Math.max(0, Number(r.age)))
}
