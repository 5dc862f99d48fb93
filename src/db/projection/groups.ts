import type { EventData, Group, GroupParticipant } from '../../core/catalogue'
import { jidForms } from '../../core/jid'
import type { Tx } from '../client'
import { bulk } from './statements'

/**
 * Groups and their members from the group events, merged so that the order in which events
 * arrive does not matter: each info field of a group keeps the value of the newest event that set
 * it (per-field versions), and each member's presence and role those of the newest event about
 * them. A whole roster (`session.groups.upsert`) also marks absent the members it lacks, unless a
 * newer event said otherwise.
 */

/** The info fields of a group row, each versioned on its own. */
const FIELDS = ['subject', 'description', 'owner', 'owner_pn', 'size', 'announce', 'restrict', 'ephemeral', 'addressing_mode', 'created_at'] as const
type Field = (typeof FIELDS)[number]

interface GroupRow {
	s: string
	j: string
	/** Field values; `null` clears (a removed description). */
	f: Partial<Record<Field, string | number | boolean | null>>
	/** Field → epoch ms of the event that set it. */
	v: Partial<Record<Field, number>>
}

interface ParticipantRow {
	s: string
	g: string
	p: string
	l?: string
	n?: string
	r?: string
	pr: boolean
	at: number
}

/** A whole roster: members of `g` not in `ps` are absent as of `at`. */
interface RosterRow {
	s: string
	g: string
	ps: string[]
	at: number
}

export class GroupBatch {
	readonly groups = new Map<string, GroupRow>()
	readonly participants = new Map<string, ParticipantRow>()
	readonly rosters = new Map<string, RosterRow>()
	/** LID ↔ phone pairs the events showed, for the session's mappings. */
	readonly pairs: Array<{ s: string; lid: string; pn: string }> = []

	get empty(): boolean {
		return !this.groups.size && !this.participants.size
	}

	upsert(s: string, at: number, g: Group) {
		this.info(s, at, g)
		if (!g.participants) return
		const ids = g.participants.map((p) => this.participant(s, at, g.jid, p, true, p.role ?? 'member'))
		const key = `${s}\u0000${g.jid}`
		const earlier = this.rosters.get(key)
		if (!earlier || earlier.at <= at) this.rosters.set(key, { s, g: g.jid, ps: ids, at })
	}

	update(s: string, at: number, g: Group) {
		this.info(s, at, g)
	}

	participantsChanged(s: string, at: number, e: EventData<'session.group_participants.update'>) {
		this.info(s, at, { jid: e.groupJid })
		// The event gives each member's role after the change (the creator stays superadmin); an
		// event without it gives the role the action makes.
		for (const p of e.participants) {
			if (e.action === 'remove') this.participant(s, at, e.groupJid, p, false)
			else this.participant(s, at, e.groupJid, p, true, p.role ?? (e.action === 'promote' ? 'admin' : 'member'))
		}
	}

	private info(s: string, at: number, g: Group) {
		const key = `${s}\u0000${g.jid}`
		const row = this.groups.get(key) ?? { s, j: g.jid, f: {}, v: {} }
		const given: Partial<Record<Field, string | number | boolean | null | undefined>> = {
			subject: g.subject,
			description: g.description === undefined ? undefined : g.description || null,
			owner: g.owner,
			owner_pn: g.ownerPn,
			size: g.size,
			announce: g.announce,
			restrict: g.restrict,
			ephemeral: g.ephemeral,
			addressing_mode: g.addressingMode,
			created_at: g.createdAt,
		}
		for (const field of FIELDS) {
			const value = given[field]
			if (value === undefined || (row.v[field] ?? -1) > at) continue
			row.f[field] = value
			row.v[field] = at
		}
		this.groups.set(key, row)
		const owner = jidForms(g.owner, g.ownerPn)
		if (owner.lid && owner.pn) this.pairs.push({ s, lid: owner.lid, pn: owner.pn })
	}

	/** Records a member; answers the id the group names it by. */
	private participant(s: string, at: number, g: string, p: GroupParticipant, present: boolean, role?: string): string {
		const { lid, pn } = jidForms(p.jid, p.lid, p.pn)
		if (lid && pn) this.pairs.push({ s, lid, pn })
		const key = `${s}\u0000${g}\u0000${p.jid}`
		const earlier = this.participants.get(key)
		const row: ParticipantRow = { s, g, p: p.jid, l: lid ?? earlier?.l, n: pn ?? earlier?.n, r: role, pr: present, at }
		if (earlier && earlier.at > at) {
			earlier.l ??= row.l
			earlier.n ??= row.n
		} else this.participants.set(key, row)
		return p.jid
	}
}

const newer = (field: Field) => `(excluded.versions->>'${field}')::float8 >= coalesce((t.versions->>'${field}')::float8, '-infinity'::float8)`

const GROUPS_SQL = `insert into session_groups as t (session_id, jid, ${FIELDS.join(', ')}, versions)
	select r.s, r.j, r.f->>'subject', r.f->>'description', r.f->>'owner', r.f->>'owner_pn', (r.f->>'size')::int,
		(r.f->>'announce')::boolean, (r.f->>'restrict')::boolean, (r.f->>'ephemeral')::int, r.f->>'addressing_mode',
		to_timestamp((r.f->>'created_at')::float8), r.v
	from json_to_recordset($1::text::json) as r(s uuid, j text, f jsonb, v jsonb)
	on conflict (session_id, jid) do update set
		${FIELDS.map((f) => `${f} = case when ${newer(f)} then excluded.${f} else t.${f} end`).join(',\n\t\t')},
		versions = (select coalesce(jsonb_object_agg(k, m), '{}'::jsonb) from (
			select k, max(x) as m from (
				select key as k, value::text::float8 as x from jsonb_each(t.versions)
				union all select key, value::text::float8 from jsonb_each(excluded.versions)) a group by k) b),
		updated_at = now()
	where t.versions is distinct from excluded.versions or (${FIELDS.map((f) => newer(f)).join(' or ')})`

const PARTICIPANTS_SQL = `insert into session_group_participants as t (session_id, group_jid, participant, lid_jid, pn_jid, role, present, at)
	select r.s, r.g, r.p, r.l, r.n, coalesce(r.r, 'member'), r.pr, to_timestamp(r.at / 1000.0)
	from json_to_recordset($1::text::json) as r(s uuid, g text, p text, l text, n text, r text, pr boolean, at float8)
	on conflict (session_id, group_jid, participant) do update set
		lid_jid = coalesce(t.lid_jid, excluded.lid_jid),
		pn_jid = coalesce(t.pn_jid, excluded.pn_jid),
		role = case when excluded.at >= t.at and (excluded.present or excluded.role <> 'member') then excluded.role else t.role end,
		present = case when excluded.at >= t.at then excluded.present else t.present end,
		at = greatest(t.at, excluded.at)`

/** Members a whole roster lacks are gone, unless an event newer than the roster says otherwise. */
const ABSENT_SQL = `update session_group_participants as t set present = false, at = to_timestamp(r.at / 1000.0)
	from json_to_recordset($1::text::json) as r(s uuid, g text, ps jsonb, at float8)
	where t.session_id = r.s and t.group_jid = r.g and t.present and t.at < to_timestamp(r.at / 1000.0)
		and not (r.ps ? t.participant)`

const byKey = <R>(rows: Map<string, R>) => [...rows.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(([, r]) => r)

/** Writes the batch's groups and members (rows in key order, like the rest of the projection). */
export async function writeGroups(tx: Tx, batch: GroupBatch): Promise<void> {
	if (batch.empty) return
	await bulk(tx, GROUPS_SQL, byKey(batch.groups))
	const participants = byKey(batch.participants)
	// A removal carries no role: the stored one stays.
	await bulk(
		tx,
		PARTICIPANTS_SQL,
		participants.map((p) => ({ ...p, r: p.pr ? p.r : undefined })),
	)
	await bulk(tx, ABSENT_SQL, byKey(batch.rosters))
}
