import { and, asc, eq, inArray, isNull } from 'drizzle-orm'
import type { Db } from '../../db/client'
import { sessions } from '../../db/schema'
import { compareIds, type Bus, type StreamEntry } from '../../bus'
import type { DomainEvent } from '../../core/catalogue'
import { DOMAIN_EVENTS } from '../../core/streams'
import type { Logger } from '../../logger'
import { CONSUMER_GROUP } from '../../core/streams'
import { applyStatusEvent, isStatusEvent } from '../../core/session-status'
import type { Session } from '../sessions/model'
import { publicColumns, toPublic } from '../sessions/service'
import { previousId } from './positions'

export interface Snapshot {
	/** Stream position the snapshot is exact at: it reflects every event up to here and none after. */
	position: string
	sessions: Session[]
}

export interface SnapshotDeps {
	db: Db
	bus: Bus
	logger: Logger
	/** Most stream entries one snapshot reads to make up for the consumer's lag (default 50 000). */
	maxCatchUpEntries?: number
}

// The status machine's whole state, so events apply to it as the projection applies them; toPublic shows no more than a session.
const columns = {
	...publicColumns,
	lastDisconnectCode: sessions.lastDisconnectCode,
	lastEventAt: sessions.lastEventAt,
	lastEventId: sessions.lastEventId,
}

const PAGE = 1_000

/**
 * The tenant's sessions, exact at a stream position P: every event up to P is reflected, none after.
 *
 * The rows are written by the consumer role, asynchronously, so on their own they lag the stream
 * by whatever the consumer has not applied yet. What it has applied is known from its group:
 * every entry up to the group's last-delivered position that is not pending was acknowledged,
 * i.e. committed (or dead-lettered, in which case Postgres never sees it either). So, in order:
 *   1. read the group's progress (L = last delivered, plus the pending ids);
 *   2. read the rows — they reflect at least everything acknowledged in step 1;
 *   3. P = the stream's last position — nothing the rows reflect can be after it, because the
 *      consumer only applies what it has read from the stream;
 *   4. apply the tenant's events in (L, P] and the pending ones onto the rows, with the merge rule
 *      of the projection (newest `occurredAt`/id wins), which is idempotent: events the rows
 *      already reflect change nothing.
 * A consumer lagging by more than `maxCatchUpEntries` cuts step 4 short; the snapshot is then exact
 * at the last entry applied instead, and the connection replays the rest from the stream.
 * Rows the API writes itself (a new session, the `deleted_at` of a deleted one) commit before
 * their event reaches the stream, so they can be ahead of P; clients apply `session.created` and
 * `session.deleted` by id, which makes seeing them twice harmless.
 */
export async function buildSnapshot(deps: SnapshotDeps, tenantId: string): Promise<Snapshot> {
	const { db, bus } = deps
	const maxEntries = deps.maxCatchUpEntries ?? 50_000
	const progress = await bus.groupProgress(DOMAIN_EVENTS, CONSUMER_GROUP)
	const rows = await readRows(db, tenantId)
	const { lastId } = await bus.info(DOMAIN_EVENTS)
	const upTo = lastId ?? '0-0'

	let from = progress?.lastDeliveredId ?? '0-0'
	let pendingIds = progress?.pending ?? []
	if (progress && progress.pendingCount > progress.pending.length) {
		// Too many pending to fetch one by one: read the range from the oldest of them instead.
		from = previousId(progress.pending[0]!)
		pendingIds = []
	}
	if (!progress) deps.logger.debug('no event-consumer group yet: the snapshot reads the whole retained stream')

	const pending = (await Promise.all(pendingIds.map((id) => readOne(bus, id)))).filter((e): e is StreamEntry => e !== null)
	const range = await readRange(bus, from, upTo, maxEntries)
	if (range.reached !== upTo)
		deps.logger.warn({ from, upTo, reached: range.reached }, 'the consumer lags far behind: snapshot cut short, the rest is replayed')

	const events = [...pending, ...range.entries].filter((e) => e.envelope.tenantId === tenantId).map((e) => e.envelope as DomainEvent)
	const byId = new Map(rows.map((r) => [r.id, r]))
	const deleted = new Set<string>()
	const createdUnseen = new Set<string>()
	for (const e of events) {
		if (e.type === 'session.deleted') {
			byId.delete(e.sessionId)
			deleted.add(e.sessionId)
		} else if (e.type === 'session.created' && !byId.has(e.sessionId)) createdUnseen.add(e.sessionId)
	}
	// A session whose row committed after step 2 but whose `session.created` reached the stream
	// before step 3: read it now (the row and its event commit together through the outbox).
	const late = [...createdUnseen].filter((id) => !deleted.has(id))
	if (late.length) for (const row of await readRows(db, tenantId, late)) byId.set(row.id, row)
	for (const e of events) {
		const row = byId.get(e.sessionId)
		if (row && isStatusEvent(e)) applyStatusEvent(row, e)
	}

	// Oldest first, as GET /sessions lists them (uuid v7 ids sort by creation time).
	const list = [...byId.values()].sort((a, b) => (a.id < b.id ? -1 : 1))
	return { position: range.reached, sessions: list.map(toPublic) }
}

function readRows(db: Db, tenantId: string, ids?: string[]) {
	return db
		.select(columns)
		.from(sessions)
		.where(and(eq(sessions.tenantId, tenantId), isNull(sessions.deletedAt), ids ? inArray(sessions.id, ids) : undefined))
		.orderBy(asc(sessions.id))
}

async function readOne(bus: Bus, id: string): Promise<StreamEntry | null> {
	const [entry] = await bus.read(DOMAIN_EVENTS, { after: previousId(id), count: 1 })
	return entry?.id === id ? entry : null
}

async function readRange(bus: Bus, after: string, upTo: string, maxEntries: number): Promise<{ entries: StreamEntry[]; reached: string }> {
	const entries: StreamEntry[] = []
	let pos = after
	let read = 0
	while (compareIds(pos, upTo) < 0) {
		if (read >= maxEntries) return { entries, reached: pos }
		const page = await bus.read(DOMAIN_EVENTS, { after: pos, count: PAGE })
		if (!page.length) break
		for (const e of page) {
			if (compareIds(e.id, upTo) > 0) return { entries, reached: upTo }
			entries.push(e)
			pos = e.id
		}
		read += page.length
	}
	return { entries, reached: upTo }
}
