import { type SQL, sql } from 'drizzle-orm'
import { enqueue, type Relay } from '../../bus'
import { type Command, command, type CommandDataOf, type GroupAction } from '../../core/catalogue'
import { InvalidInputError, NotFoundError, UnprocessableError } from '../../core/errors'
import { isGroupJid, normalizeJid, normalizeRecipient } from '../../core/jid'
import type { Db, Tx } from '../../db/client'
import { rowsOf } from '../../db/projection/statements'
import { nameSortKey } from '../../db/sort-key'
import { type CursorCodec, cursorString } from '../../lib/cursor'
import { isoTime, type Page } from '../../lib/keyset'
import { assertConnected, sessionStatus } from '../sessions/state'
import type { CommandAccepted, Group, GroupDetail, GroupParticipant } from './model'

export interface GroupsServiceDeps {
	db: Db
	cursors: CursorCodec
	/** Publishes what a request enqueued at once instead of at the relay's next tick. */
	relay?: Relay | null
}

interface GroupRow {
	jid: string
	subject: string | null
	description: string | null
	owner: string | null
	owner_pn: string | null
	size: number | null
	members: number | string
	announce: boolean | null
	restrict: boolean | null
	ephemeral: number | null
	addressing_mode: 'pn' | 'lid' | null
	created_at: string | Date | null
	k: string
}

interface ParticipantRow {
	participant: string
	role: GroupParticipant['role']
	lid: string | null
	pn: string | null
}

const invalidGroup = () => new InvalidInputError('INVALID_GROUP_JID', 'Not a group: a group JID looks like 120363012345678901@g.us')
const groupNotFound = () => new NotFoundError('GROUP_NOT_FOUND', 'This session is not in such a group')

/** The session's own JIDs: a group whose roster shows the account gone is one it left. */
const ownIds = (sid: string) => sql`(select s.jid from sessions s where s.id = ${sid} union all select s.lid from sessions s where s.id = ${sid})`

/** The sort key, exactly as `session_groups_subject_idx` indexes it. */
const subjectKey = nameSortKey(sql`coalesce(g.subject, '')`)

const groupColumns = sql`g.jid, g.subject, g.description, g.owner, g.owner_pn, g.size, g.announce, g.restrict, g.ephemeral,
	g.addressing_mode, g.created_at, ${subjectKey} as k,
	(select count(*) from session_group_participants p where p.session_id = g.session_id and p.group_jid = g.jid and p.present) as members`

/**
 * Groups of a session as the consumer stored them, and their management: each change is a command
 * to the runner holding the session (202 with the command's id; the outcome comes as
 * `session.command.completed` or `session.command.failed`). What can be checked here is checked
 * first, so a request that cannot work is a 4xx and nothing goes to WhatsApp.
 */
export class GroupsService {
	constructor(private readonly deps: GroupsServiceDeps) {}

	/** Groups by subject (case and accents aside), then JID; keyset-paged. */
	async list(tenantId: string, sessionId: string, { limit = 50, cursor }: { limit?: number; cursor?: string }): Promise<Page<Group>> {
		const { db, cursors } = this.deps
		await this.ownSession(db, tenantId, sessionId)
		const scope = `groups:${sessionId}`
		let after: SQL | undefined
		if (cursor) {
			const [k, jid] = cursors.decode(scope, cursor)
			after = sql`and (${subjectKey}, g.jid) > (${cursorString(k)}, ${cursorString(jid)})`
		}
		const rows = rowsOf<GroupRow>(
			await db.execute(sql`select ${groupColumns} from session_groups g
				where g.session_id = ${sessionId} ${after ?? sql``} and ${this.stillIn(sessionId)}
				order by ${subjectKey}, g.jid limit ${limit + 1}`),
		)
		const last = rows.length > limit ? rows[limit - 1] : undefined
		return { items: rows.slice(0, limit).map(toGroup), nextCursor: last ? cursors.encode(scope, [last.k, last.jid]) : null }
	}

	/** One group with its members (each with both JIDs when the session knows them). */
	async get(tenantId: string, sessionId: string, jidInput: string): Promise<GroupDetail> {
		const { db } = this.deps
		await this.ownSession(db, tenantId, sessionId)
		const jid = groupJid(jidInput)
		// One snapshot for both reads: a roster stored between them would otherwise show beside the
		// info from before it (a group just joined, its members but no subject yet).
		const [group, members] = await db.transaction(
			async (tx) => [await this.groupRow(tx, sessionId, jid), await this.members(tx, sessionId, jid)] as const,
			{ isolationLevel: 'repeatable read', accessMode: 'read only' },
		)
		const participants = members.map(toParticipant)
		// The size is the roster shown, not a count the group's row kept.
		return { ...toGroup(group), ...(participants.length > 0 ? { size: participants.length } : {}), participants }
	}

	create(tenantId: string, sessionId: string, input: { subject: string; participants: string[] }): Promise<CommandAccepted> {
		const subject = subjectOf(input.subject)
		const participants = [...new Set(input.participants.map(personJid))]
		return this.submit(tenantId, sessionId, null, () => ({ type: 'session.groups.create', data: { subject, participants } }))
	}

	edit(tenantId: string, sessionId: string, jidInput: string, input: { subject?: string; description?: string }): Promise<CommandAccepted> {
		if (input.subject === undefined && input.description === undefined)
			throw new InvalidInputError('INVALID_CONTENT', 'Say what to change: subject, description or both')
		const subject = input.subject === undefined ? undefined : subjectOf(input.subject)
		return this.submit(tenantId, sessionId, groupJid(jidInput), (groupJid) => ({
			type: 'session.groups.edit',
			// A description of blanks alone reads as none: it removes the description, as an empty one does.
			data: {
				groupJid,
				...(subject ? { subject } : {}),
				...(input.description !== undefined ? { description: input.description.trim() ? input.description : '' } : {}),
			},
		}))
	}

	/**
	 * Adds, removes, promotes or demotes members. Members are named as the client likes (phone
	 * number, phone JID or LID) and sent to WhatsApp as the group names them.
	 */
	changeParticipants(tenantId: string, sessionId: string, jidInput: string, action: GroupAction, people: string[]): Promise<CommandAccepted> {
		const wanted = [...new Set(people.map(personJid))]
		return this.submit(tenantId, sessionId, groupJid(jidInput), async (groupJid, tx) => {
			const members = await this.members(tx, sessionId, groupJid)
			const memberOf = (jid: string) => members.find((m) => m.participant === jid || m.lid === jid || m.pn === jid)
			const participants: string[] = []
			const wrong: string[] = []
			for (const jid of wanted) {
				const member = memberOf(jid)
				if (action === 'add' ? member : !member) wrong.push(jid)
				else participants.push(member?.participant ?? jid)
			}
			if (wrong.length && action === 'add')
				throw new UnprocessableError('PARTICIPANT_ALREADY_IN_GROUP', `Already in the group: ${wrong.join(', ')}`, { participants: wrong })
			if (wrong.length) throw new UnprocessableError('PARTICIPANT_NOT_IN_GROUP', `Not in the group: ${wrong.join(', ')}`, { participants: wrong })
			// One person named by number and by LID maps to one id of the group's: send it once.
			return { type: 'session.group_participants.change', data: { groupJid, action, participants: [...new Set(participants)] } }
		})
	}

	leave(tenantId: string, sessionId: string, jidInput: string): Promise<CommandAccepted> {
		return this.submit(tenantId, sessionId, groupJid(jidInput), (groupJid) => ({ type: 'session.groups.leave', data: { groupJid } }))
	}

	invite(tenantId: string, sessionId: string, jidInput: string, revoke: boolean): Promise<CommandAccepted> {
		return this.submit(tenantId, sessionId, groupJid(jidInput), (groupJid) => ({
			type: 'session.group_invite.get',
			data: { groupJid, ...(revoke ? { revoke: true } : {}) },
		}))
	}

	/** Enqueues the command `build` makes once the session is the tenant's, connected, and in the group. */
	private async submit<K extends Command['type']>(
		tenantId: string,
		sessionId: string,
		jid: string | null,
		build: (groupJid: string, tx: Tx) => { type: K; data: CommandDataOf<K> } | Promise<{ type: K; data: CommandDataOf<K> }>,
	): Promise<CommandAccepted> {
		const id = await this.deps.db.transaction(async (tx) => {
			const status = await sessionStatus(tx, tenantId, sessionId)
			if (jid) await this.groupRow(tx, sessionId, jid)
			const { type, data } = await build(jid ?? '', tx)
			assertConnected(status)
			const envelope = command(type, { tenantId, sessionId }, data)
			await enqueue(tx, envelope as Command)
			return envelope.id
		})
		this.deps.relay?.nudge()
		return { commandId: id, status: 'accepted' }
	}

	private async ownSession(db: Db | Tx, tenantId: string, sessionId: string) {
		await sessionStatus(db as Tx, tenantId, sessionId)
	}

	private stillIn(sessionId: string) {
		return sql`not exists (select 1 from session_group_participants p where p.session_id = g.session_id and p.group_jid = g.jid
			and not p.present and p.participant in ${ownIds(sessionId)})`
	}

	private async groupRow(db: Db | Tx, sessionId: string, jid: string): Promise<GroupRow> {
		const [row] = rowsOf<GroupRow>(
			await db.execute(
				sql`select ${groupColumns} from session_groups g where g.session_id = ${sessionId} and g.jid = ${jid} and ${this.stillIn(sessionId)}`,
			),
		)
		if (!row) throw groupNotFound()
		return row
	}

	/** Present members, with the form their row lacks filled from the session's LID mappings. */
	private async members(db: Db | Tx, sessionId: string, jid: string): Promise<ParticipantRow[]> {
		return rowsOf<ParticipantRow>(
			await db.execute(sql`select p.participant, p.role,
				coalesce(p.lid_jid, case when p.participant like '%@lid' then p.participant end,
					(select min(m.lid) from session_lid_mappings m where m.session_id = p.session_id and m.pn = p.participant)) as lid,
				coalesce(p.pn_jid, case when p.participant like '%@s.whatsapp.net' then p.participant end,
					(select min(m.pn) from session_lid_mappings m where m.session_id = p.session_id and m.lid = p.participant)) as pn
				from session_group_participants p
				where p.session_id = ${sessionId} and p.group_jid = ${jid} and p.present
				order by case p.role when 'superadmin' then 0 when 'admin' then 1 else 2 end, p.participant`),
		)
	}
}

function groupJid(input: string): string {
	const jid = normalizeJid(input)
	if (!jid || !isGroupJid(jid)) throw invalidGroup()
	return jid
}

function personJid(input: string): string {
	const jid = normalizeRecipient(input)
	if (!jid || isGroupJid(jid))
		throw new InvalidInputError(
			'INVALID_PARTICIPANT',
			`${JSON.stringify(input.slice(0, 40))} is not a person: use a phone number with its country code, a phone-number JID or a LID`,
		)
	return jid
}

function subjectOf(input: string): string {
	const subject = input.trim()
	if (!subject) throw new InvalidInputError('INVALID_SUBJECT', 'subject must not be empty or only whitespace')
	return subject
}

function toGroup(r: GroupRow): Group {
	const members = Number(r.members)
	return {
		jid: r.jid,
		subject: r.subject,
		description: r.description,
		owner: r.owner_pn ?? r.owner,
		size: members > 0 ? members : r.size,
		announce: r.announce,
		restrict: r.restrict,
		ephemeral: r.ephemeral,
		addressingMode: r.addressing_mode,
		createdAt: isoTime(r.created_at),
	}
}

function toParticipant(r: ParticipantRow): GroupParticipant {
	return { jid: r.pn ?? r.lid ?? r.participant, pnJid: r.pn, lidJid: r.lid, role: r.role }
}
