import { afterAll, beforeAll, describe, expect, it } from 'bun:test'
import { sql } from 'drizzle-orm'
import type { DomainEvent } from '../../src/core/catalogue'
import type { Database } from '../../src/db/client'
import { applyEvents } from '../../src/db/projection'
import { rowsOf } from '../../src/db/projection/statements'
import { openTestDatabase, type OpenTestDatabase } from '../helpers/database'
import { createSession, event, type Meta } from '../events/fixtures'

/** The consumer stores the group events the same whatever order and however often they arrive. */

const GROUP = '120363000000000077@g.us'
const A = '4915100000701@s.whatsapp.net'
const B = '4915100000702@s.whatsapp.net'
const C = '4915100000703@s.whatsapp.net'
const D = '4915100000704@s.whatsapp.net'
const D_LID = '222222222222222@lid'

let testDb: OpenTestDatabase
let database: Database

beforeAll(async () => {
	testDb = await openTestDatabase(2)
	database = testDb.database
})
afterAll(() => testDb.close())

/** A group's life: a roster, then changes, each a second after the one before. */
function life(m: Meta): DomainEvent[] {
	return [
		event(m, 'session.groups.upsert', {
			groups: [
				{
					jid: GROUP,
					subject: 'One',
					owner: A,
					size: 3,
					announce: false,
					participants: [
						{ jid: A, role: 'superadmin' },
						{ jid: B, role: 'member' },
						{ jid: C, role: 'member' },
					],
				},
			],
		}),
		event(m, 'session.group_participants.update', { groupJid: GROUP, action: 'add', participants: [{ jid: D, lid: D_LID, pn: D }] }),
		event(m, 'session.group_participants.update', { groupJid: GROUP, action: 'promote', participants: [{ jid: B }] }),
		event(m, 'session.groups.update', { updates: [{ jid: GROUP, subject: 'Two', author: A }] }),
		event(m, 'session.group_participants.update', { groupJid: GROUP, action: 'remove', participants: [{ jid: C }] }),
		event(m, 'session.groups.update', { updates: [{ jid: GROUP, description: 'About', announce: true }] }),
	]
}

async function state(sessionId: string) {
	const groups = rowsOf(
		await database.db.execute(sql`select jid, subject, description, owner, size, announce from session_groups where session_id = ${sessionId}`),
	)
	const members = rowsOf(
		await database.db.execute(sql`select participant, lid_jid, pn_jid, role, present from session_group_participants
			where session_id = ${sessionId} order by participant`),
	)
	const mappings = rowsOf(await database.db.execute(sql`select lid, pn from session_lid_mappings where session_id = ${sessionId}`))
	return { groups, members, mappings }
}

const EXPECTED = {
	groups: [{ jid: GROUP, subject: 'Two', description: 'About', owner: A, size: 3, announce: true }],
	members: [
		{ participant: A, lid_jid: null, pn_jid: A, role: 'superadmin', present: true },
		{ participant: B, lid_jid: null, pn_jid: B, role: 'admin', present: true },
		{ participant: C, lid_jid: null, pn_jid: C, role: 'member', present: false },
		{ participant: D, lid_jid: D_LID, pn_jid: D, role: 'member', present: true },
	],
	mappings: [{ lid: D_LID, pn: D }],
}

describe('the group projection', () => {
	it('stores a group’s life applied in order, one event per batch', async () => {
		const m = await createSession(database.db)
		for (const e of life(m)) await applyEvents(database.db, [e])
		expect(await state(m.sessionId)).toEqual(EXPECTED)
	})

	it('ends the same applied in reverse, and all in one batch', async () => {
		const reversed = await createSession(database.db)
		for (const e of life(reversed).reverse()) await applyEvents(database.db, [e])
		expect(await state(reversed.sessionId)).toEqual(EXPECTED)
		const together = await createSession(database.db)
		await applyEvents(database.db, life(together).reverse())
		expect(await state(together.sessionId)).toEqual(EXPECTED)
	})

	it('ends the same with every event applied twice, in a shuffled order', async () => {
		const m = await createSession(database.db)
		const events = life(m)
		const shuffled = [...events, ...events].sort(() => Math.random() - 0.5)
		for (const e of shuffled) await applyEvents(database.db, [e])
		expect(await state(m.sessionId)).toEqual(EXPECTED)
	})

	it('marks absent the members a newer whole roster lacks, but not those a newer event added', async () => {
		const m = await createSession(database.db)
		const [roster, add] = life(m)
		const later = event(m, 'session.groups.upsert', { groups: [{ jid: GROUP, participants: [{ jid: A, role: 'superadmin' }] }] })
		const E = '4915100000705@s.whatsapp.net'
		const newest = event(m, 'session.group_participants.update', { groupJid: GROUP, action: 'add', participants: [{ jid: E }] })
		await applyEvents(database.db, [newest])
		await applyEvents(database.db, [later, add!, roster!])
		const present = (await state(m.sessionId)).members.filter((r: any) => r.present).map((r: any) => r.participant)
		expect(present).toEqual([A, E])
	})
})
