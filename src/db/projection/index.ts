import { and, eq, inArray, sql, type SQL } from 'drizzle-orm'
import type { DomainEvent } from '../../core/catalogue'
import { isoMs, ProjectionBatch } from '../../core/projection'
import { NIL_UUID, statusPatch, type StatusEvent } from '../../core/session-status'
import type { Db } from '../client'
import { sessionAuth, sessionAuthKeys, sessions } from '../schema'
import { GroupBatch, writeGroups } from './groups'
import { type RecountKey, recountHeld, refreshDerived, type Touched } from './derived'
import {
	bulk,
	CHATS_SQL,
	CONTACTS_SQL,
	MAPPINGS_SQL,
	type MappingWrite,
	MESSAGES_SQL,
	type MessageWrites,
	REACTIONS_SQL,
	REVOKED_MEDIA_SQL,
	type RowWrite,
	VOTES_SQL,
} from './statements'

/**
 * Persists domain events into Postgres (sessions, session_chats, session_messages,
 * session_contacts, session_lid_mappings), with the merge rules of core/projection.ts and the
 * status machine of core/session-status.ts. Works on postgres.js and PGlite alike. A batch is one
 * transaction; rows are sorted by key so concurrent consumers lock rows in the same order.
 */

export interface ProjectionStats {
	events: number
	/** Events of sessions that do not exist (any more). */
	dropped: number
	messages: number
	chats: number
	contacts: number
	mappings: number
	sessionUpdates: number
	/** Sessions whose deletion this batch completed: hidden, creds gone, rows left to the purge. */
	deletedSessions: number
}

const TOMBSTONE_SKEW_MS = 5_000

/** Applies one batch of domain events in one transaction. Safe to call again with any of them. */
export async function applyEvents(db: Db, events: readonly DomainEvent[]): Promise<ProjectionStats> {
	const stats: ProjectionStats = {
		events: events.length,
		dropped: 0,
		messages: 0,
		chats: 0,
		contacts: 0,
		mappings: 0,
		sessionUpdates: 0,
		deletedSessions: 0,
	}
	if (!events.length) return stats
	const ids = [...new Set(events.map((e) => e.sessionId))]
	let touched: Touched | undefined

	await db.transaction(async (tx) => {
		// KEY SHARE: a concurrent delete of one of these sessions waits for this batch, so the rows
		// below never miss their foreign key.
		// The ids as one JSON parameter: the same text for any number of them, so it is prepared once
		// per connection (a batch of live messages is small, and parsing cost more than the lookup).
		const found = await tx
			.select({ id: sessions.id, deletedAt: sessions.deletedAt, unlinkedAt: sessions.unlinkedAt })
			.from(sessions)
			.where(sql`${sessions.id} in (select json_array_elements_text(${JSON.stringify(ids)}::json)::uuid)`)
			.for('key share')
			.prepare('projection_sessions')
			.execute()
		const live = new Set(found.filter((r) => !r.unlinkedAt).map((r) => r.id))
		const tombstones = new Map(found.filter((r) => r.deletedAt).map((r) => [r.id, r.deletedAt!.getTime()]))
		// A logout from before the deletion (retried late) must not end the row before the runner
		// has seen the logout command; the margin absorbs clock skew between runner and database.
		const loggedOut = (e: DomainEvent) =>
			(e.type === 'session.status.disconnected' &&
				e.data.status === 'logged_out' &&
				Date.parse(e.occurredAt) >= tombstones.get(e.sessionId)! - TOMBSTONE_SKEW_MS) ||
			(e.type === 'session.command.failed' && e.data.command === 'session.logout')
		const ended = new Set(
			events
				.filter((e) => live.has(e.sessionId) && (tombstones.has(e.sessionId) ? loggedOut(e) : e.type === 'session.deleted'))
				.map((e) => e.sessionId),
		)
		if (ended.size) {
			const endedIds = [...ended]
			// The device is unlinked (or was never asked to be): the creds go now; the chats, messages
			// and contacts, and then the row, go with the purge (modules/sessions/purge.ts), a batch per
			// transaction, since one statement here would hold this batch for as long as a big session
			// takes to delete.
			await tx
				.update(sessions)
				.set({ deletedAt: sql`coalesce(${sessions.deletedAt}, now())`, desiredState: 'stopped', unlinkedAt: sql`now()`, updatedAt: sql`now()` })
				.where(inArray(sessions.id, endedIds))
			await tx.delete(sessionAuthKeys).where(inArray(sessionAuthKeys.sessionId, endedIds))
			await tx.delete(sessionAuth).where(inArray(sessionAuth.sessionId, endedIds))
			stats.deletedSessions = ended.size
		}

		const batch = new ProjectionBatch()
		const groups = new GroupBatch()
		const statusEvents: StatusEvent[] = []
		for (const e of events) {
			if (!live.has(e.sessionId) || ended.has(e.sessionId) || tombstones.has(e.sessionId)) {
				if (e.type !== 'session.deleted') stats.dropped++
				continue
			}
			const s = e.sessionId
			const at = isoMs(e.occurredAt)
			switch (e.type) {
				case 'session.qr.updated':
				case 'session.pairing_code.updated':
				case 'session.status.connected':
				case 'session.status.disconnected':
					statusEvents.push(e)
					break
				case 'session.history.sync':
					for (const m of e.data.lidPnMappings) batch.mapping(s, m.lid, m.pn)
					for (const c of e.data.contacts) batch.contact(s, at, c)
					for (const c of e.data.chats) batch.chat(s, at, c)
					for (const m of e.data.messages) batch.message(s, at, m)
					break
				case 'session.messages.upsert':
					for (const m of e.data.messages) batch.message(s, at, m)
					break
				case 'session.messages.update':
					for (const u of e.data.updates) batch.update(s, at, u)
					break
				case 'session.contacts.upsert':
					for (const c of e.data.contacts) batch.contact(s, at, c)
					break
				case 'session.chats.upsert':
					for (const c of e.data.chats) batch.chat(s, at, c)
					break
				case 'session.groups.upsert':
					for (const g of e.data.groups) groups.upsert(s, Date.parse(at), g)
					break
				case 'session.groups.update':
					for (const g of e.data.updates) groups.update(s, Date.parse(at), g)
					break
				case 'session.group_participants.update':
					groups.participantsChanged(s, Date.parse(at), e.data)
					break
				case 'session.created':
				case 'session.deleted':
				case 'session.command.completed':
				case 'session.command.failed':
				case 'session.media.updated':
				case 'session.presence.updated':
					// The API writes the session row with session.created; failures only inform clients;
					// the media table is the runner's, and a message points at its file by id; presence
					// is of the moment and never stored.
					break
			}
		}

		const version = (e: StatusEvent) => `${isoMs(e.occurredAt)} ${e.id}`
		statusEvents.sort((a, b) => (version(a) < version(b) ? -1 : 1))
		for (const e of statusEvents) {
			const at = isoMs(e.occurredAt)
			const newer: SQL = sql`(${sessions.lastEventAt} is null or (${sessions.lastEventAt}, coalesce(${sessions.lastEventId}, ${NIL_UUID}::uuid)) < (${at}::timestamptz, ${e.id}::uuid))`
			const updated = await tx
				.update(sessions)
				.set({ ...statusPatch(e), lastEventAt: new Date(at), lastEventId: e.id, updatedAt: sql`now()` })
				.where(and(eq(sessions.id, e.sessionId), newer))
				.returning({ id: sessions.id })
			stats.sessionUpdates += updated.length
			if (!updated.length && e.type === 'session.status.connected') {
				// Status is the newest event's, but who the account is stays true: an older
				// `connected` still fills identity the row lacks.
				const fill = {
					jid: sql`coalesce(${sessions.jid}, ${e.data.jid})`,
					lid: sql`coalesce(${sessions.lid}, ${e.data.lid ?? null})`,
					phoneNumber: sql`coalesce(${sessions.phoneNumber}, ${e.data.phoneNumber ?? null})`,
				}
				await tx
					.update(sessions)
					.set({ ...fill, updatedAt: sql`now()` })
					.where(
						and(
							eq(sessions.id, e.sessionId),
							sql`(${sessions.jid}, ${sessions.lid}, ${sessions.phoneNumber}) is distinct from (${fill.jid}, ${fill.lid}, ${fill.phoneNumber})`,
						),
					)
			}
		}

		for (const { s, lid, pn } of groups.pairs) batch.mapping(s, lid, pn)
		await writeGroups(tx, groups)

		// Contended rows (chats, contacts, mappings shared by many batches) go last, so their locks
		// are held for the shortest time before the commit.
		const messages = batch.messages.sorted()
		const mappings = batch.mappings.sorted()
		const contacts = batch.contacts.sorted()
		const chats = batch.chats.sorted()
		const messageWrites = await bulk<MessageWrites>(tx, MESSAGES_SQL, messages)
		await bulk(tx, REACTIONS_SQL, batch.reactions.sorted())
		await bulk(tx, VOTES_SQL, batch.votes.sorted())
		const revoked = messages.filter((m) => m.ra !== undefined).map(({ s, m, f }) => ({ s, m, f }))
		if (revoked.length) await bulk(tx, REVOKED_MEDIA_SQL, revoked)
		const newMappings = await bulk<MappingWrite>(tx, MAPPINGS_SQL, mappings)
		const contactWrites = await bulk<RowWrite>(tx, CONTACTS_SQL, contacts)
		const fresh = Object.fromEntries(messageWrites.filter((w) => w.f.length).map((w) => [`${w.s} ${w.j}`, w.f]))
		const chatWrites = await bulk<RowWrite>(tx, CHATS_SQL, chats, fresh)
		const { held, later } = toRecount(batch, messageWrites, chatWrites)
		await recountHeld(tx, held)
		stats.messages = messages.length
		stats.mappings = mappings.length
		stats.contacts = contacts.length
		stats.chats = chats.length
		const named = newMappings.flatMap((m) => [
			{ s: m.s, j: m.l },
			{ s: m.s, j: m.p },
		])
		const lacking = (rows: RowWrite[]) => sortKeys([...rows.filter((r) => r.x).map(({ s, j }) => ({ s, j })), ...named])
		touched = { contacts: lacking(contactWrites), chats: lacking(chatWrites), recount: later }
	})
	if (touched) await refreshDerived(db, touched)
	return stats
}

/**
 * Chats whose unread count needs a recount (derived.ts): those whose row changed with a count
 * WhatsApp reported, and those whose received messages changed other than by arriving unread. The
 * batch holds the rows of the chats it wrote; a receipt's chat it does not, and recounts after it.
 */
function toRecount(batch: ProjectionBatch, messages: MessageWrites[], chats: RowWrite[]): { held: RecountKey[]; later: RecountKey[] } {
	const key = (s: string, j: string) => `${s.toLowerCase()}\u0000${j}`
	const written = new Set([...batch.chats.byKey.values()].map((c) => key(c.s, c.j)))
	const reported = new Set([...batch.chats.byKey.values()].filter((c) => c.u !== undefined).map((c) => key(c.s, c.j)))
	const held: RecountKey[] = chats.filter((c) => reported.has(key(c.s, c.j))).map(({ s, j }) => ({ s, j, m: null }))
	const later: RecountKey[] = []
	for (const { s, j, m } of messages) if (m !== null) (written.has(key(s, j)) ? held : later).push({ s, j, m })
	return { held: sortKeys(held), later: sortKeys(later) }
}

const sortKeys = <K extends { s: string; j: string }>(keys: K[]) =>
	keys.sort((a, b) => (a.s < b.s ? -1 : a.s > b.s ? 1 : a.j < b.j ? -1 : a.j > b.j ? 1 : 0))
