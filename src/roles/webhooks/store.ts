import { sql } from 'drizzle-orm'
import type { Db } from '../../db/client'
import { rowsOf } from '../../db/projection/statements'

/** A delivery a dispatcher holds: what it sends, and where, signed with which secrets. */
export interface ClaimedDelivery {
	id: string
	endpointId: string
	eventId: string
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
 * Takes up to `limit` due deliveries and locks them for `lockMs` under `owner`, counting the
 * attempt. A delivery is due when its endpoint is enabled, its time has come, nobody holds it, it
 * is not past the watermark, and no earlier delivery of its (endpoint, session) lane is still
 * pending: a failing delivery holds back that lane only. `SKIP LOCKED` lets several dispatchers
 * claim side by side without taking the same row.
 */
export async function claimDue(db: Db, owner: string, limit: number, lockMs: number, watermark: Watermark): Promise<ClaimedDelivery[]> {
	const beyond = watermark.strict ? sql`<` : sql`<=`
	const result = await db.execute(sql`
		with due as (
			select d.id from webhook_deliveries d
			join webhook_endpoints e on e.id = d.endpoint_id
			where d.state = 'pending' and d.next_attempt_at <= now() and e.enabled
				and (d.locked_until is null or d.locked_until < now())
				and (d.position_ms is null or (d.position_ms, d.position_seq) ${beyond} (${watermark.ms}::bigint, ${watermark.seq}::bigint))
				and (d.session_id is null or not exists (
					select 1 from webhook_deliveries p
					where p.endpoint_id = d.endpoint_id and p.session_id = d.session_id and p.state = 'pending'
						and (p.position_ms, p.position_seq) < (d.position_ms, d.position_seq)))
			order by d.next_attempt_at, d.position_ms, d.position_seq
			limit ${limit}
			for update of d skip locked
		)
		update webhook_deliveries d
		set locked_until = now() + ${lockMs} * interval '1 millisecond', lock_owner = ${owner}, attempts = d.attempts + 1, last_attempt_at = now()
		from due, webhook_endpoints e
		where d.id = due.id and e.id = d.endpoint_id
		returning d.id, d.endpoint_id, d.event_id, d.body, d.attempts, e.url, e.secret,
			case when e.previous_secret_expires_at > now() then e.previous_secret end as previous_secret,
			(extract(epoch from d.created_at) * 1000)::float8 as created_ms`)
	return rowsOf<Record<string, unknown>>(result).map((r) => ({
		id: String(r.id),
		endpointId: String(r.endpoint_id),
		eventId: String(r.event_id),
		body: String(r.body),
		attempt: Number(r.attempts),
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
	state: 'pending' | 'delivered' | 'failed'
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
	const ok = [...new Set(results.filter((r) => r.state === 'delivered').map((r) => r.endpointId))]
	const failing = [...new Set(results.filter((r) => r.state !== 'delivered').map((r) => r.endpointId))].filter((id) => !ok.includes(id))
	const gone = [...new Set(results.filter((r) => r.gone).map((r) => r.endpointId))]
	return db.transaction(async (tx) => {
		await tx.execute(sql`
			update webhook_deliveries d
			set state = r.s, next_attempt_at = coalesce(to_timestamp(r.n / 1000.0), d.next_attempt_at), last_status_code = r.c,
				last_latency_ms = r.l, last_error = r.x, delivered_at = case when r.s = 'delivered' then now() else d.delivered_at end,
				locked_until = null, lock_owner = null
			from json_to_recordset(${JSON.stringify(rows)}::text::json) as r(id uuid, s text, n float8, c int, l int, x text)
			where d.id = r.id and d.lock_owner = ${owner}`)
		if (ok.length)
			await tx.execute(
				sql`update webhook_endpoints set failing_since = null where failing_since is not null and id = any(${`{${ok.join(',')}}`}::uuid[])`,
			)
		const disabled: string[] = []
		if (failing.length) {
			const ids = `{${failing.join(',')}}`
			await tx.execute(sql`update webhook_endpoints set failing_since = now() where failing_since is null and id = any(${ids}::uuid[])`)
			const stale = await tx.execute(sql`
				update webhook_endpoints set enabled = false, disabled_reason = 'failing', updated_at = now()
				where enabled and id = any(${ids}::uuid[]) and failing_since < now() - ${disableAfterMs} * interval '1 millisecond'
				returning id`)
			disabled.push(...rowsOf<{ id: string }>(stale).map((r) => r.id))
		}
		if (gone.length) {
			const off = await tx.execute(sql`
				update webhook_endpoints set enabled = false, disabled_reason = 'gone', updated_at = now()
				where enabled and id = any(${`{${gone.join(',')}}`}::uuid[]) returning id`)
			disabled.push(...rowsOf<{ id: string }>(off).map((r) => r.id))
		}
		return disabled
	})
}

/** The backlog as metrics show it: per enabled endpoint with pending deliveries, the age of its oldest one, in seconds. */
export async function backlogAges(db: Db): Promise<number[]> {
	const result = await db.execute(sql`
		select extract(epoch from now() - min(d.created_at))::float8 as age
		from webhook_deliveries d join webhook_endpoints e on e.id = d.endpoint_id and e.enabled
		where d.state = 'pending' group by d.endpoint_id`)
	return rowsOf<{ age: number }>(result).map((r) => Math.max(0, Number(r.age)))
}
