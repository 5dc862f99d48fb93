import { afterAll, beforeAll, describe, expect, it } from 'bun:test'
import { type Client, pairedSession, type SessionsWorld, startSessionsWorld } from '../helpers/sessions'
import { until } from '../helpers/until'

/**
 * The groups of a session, end to end: the stand-in's rosters (phone-number and LID addressing)
 * fetched by the real Baileys socket on connect, kept current by WhatsApp's group notifications,
 * published as catalogue events, stored by the consumer and read through the API.
 */

const PHONE = '4915100000401'
const ALICE = '4915100000402'
const BOB = '4915100000403'
const CAROL = '4915100000404'
const DAVE = '4915100000405'
const pn = (phone: string) => `${phone}@s.whatsapp.net`

let world: SessionsWorld
let api: Client
let sessionId: string
let team: string
let hidden: string

beforeAll(async () => {
	world = await startSessionsWorld()
	api = await world.tenant()
	// Groups the account is in before it links: the first connect fetches them.
	team = (
		await world.standIn.createGroup({ owner: ALICE, subject: 'Team', members: [PHONE, BOB], admins: [BOB], description: 'Our team', notify: false })
	).jid
	hidden = (
		await world.standIn.createGroup({
			owner: ALICE,
			subject: 'Hidden numbers',
			members: [PHONE, CAROL],
			addressing: 'lid',
			hidePhones: [CAROL],
			notify: false,
		})
	).jid
	sessionId = (await pairedSession(world, api, PHONE)).id
})
afterAll(() => world.close())

const group = (jid: string) => api.get(`/sessions/${sessionId}/groups/${jid}`)
const untilGroup = (jid: string, check: (body: any) => boolean, what: string) =>
	until(async () => {
		const res = await group(jid)
		return res.status === 200 && check(res.body) && res.body
	}, what)

describe('groups fetched on connect', () => {
	it('lists the groups the account is in, with their info', async () => {
		const page = await until(async () => {
			const res = await api.get(`/sessions/${sessionId}/groups`)
			return res.status === 200 && res.body.items.length === 2 && res.body
		}, 'both groups listed')
		expect(page.items.map((g: any) => g.subject)).toEqual(['Hidden numbers', 'Team'])
		expect(page.items[1]).toMatchObject({ jid: team, description: 'Our team', owner: pn(ALICE), size: 3, addressingMode: 'pn', announce: false })
		expect(page.nextCursor).toBeNull()
	})

	it('publishes them as session.groups.upsert with the whole roster', async () => {
		const event = await world.events.waitFor('session.groups.upsert', sessionId, { where: (e) => e.data.groups.some((g) => g.jid === team) })
		const roster = event.data.groups.find((g) => g.jid === team)!.participants
		expect(roster).toContainEqual({ jid: pn(BOB), lid: world.standIn.lidOf(BOB), pn: pn(BOB), role: 'admin' })
	})

	it('shows each member with both JIDs and its role', async () => {
		const body = await untilGroup(team, (b) => b.participants.length === 3, 'the team roster')
		expect(body.participants).toEqual([
			{ jid: pn(ALICE), pnJid: pn(ALICE), lidJid: world.standIn.lidOf(ALICE), role: 'superadmin' },
			{ jid: pn(BOB), pnJid: pn(BOB), lidJid: world.standIn.lidOf(BOB), role: 'admin' },
			{ jid: pn(PHONE), pnJid: pn(PHONE), lidJid: world.standIn.lidOf(PHONE), role: 'member' },
		])
	})

	it('pages through the groups with a cursor', async () => {
		const first = await api.get(`/sessions/${sessionId}/groups?limit=1`)
		expect(first.body.items.map((g: any) => g.jid)).toEqual([hidden])
		const second = await api.get(`/sessions/${sessionId}/groups?limit=1&cursor=${first.body.nextCursor}`)
		expect(second.body.items.map((g: any) => g.jid)).toEqual([team])
		expect((await api.get(`/sessions/${sessionId}/groups?cursor=nonsense`)).status).toBe(400)
	})
})

describe('a LID-addressed group', () => {
	it('shows a member by LID alone while WhatsApp hides the phone number, and both once it shows it', async () => {
		const carol = world.standIn.lidOf(CAROL)
		const before = await untilGroup(hidden, (b) => b.participants.length === 3, 'the hidden roster')
		expect(before.addressingMode).toBe('lid')
		expect(before.participants).toContainEqual({ jid: carol, pnJid: null, lidJid: carol, role: 'member' })
		expect(before.participants).toContainEqual({ jid: pn(ALICE), pnJid: pn(ALICE), lidJid: world.standIn.lidOf(ALICE), role: 'superadmin' })

		await world.standIn.revealGroupPhone({ group: hidden, phone: CAROL })
		const after = await untilGroup(hidden, (b) => b.participants.some((p: any) => p.pnJid === pn(CAROL)), 'Carol’s number')
		expect(after.participants).toContainEqual({ jid: pn(CAROL), pnJid: pn(CAROL), lidJid: carol, role: 'member' })
	})
})

describe('changes WhatsApp tells of', () => {
	it('adds and promotes members, published as session.group_participants.update', async () => {
		await world.standIn.changeGroup({ group: team, actor: ALICE, action: 'add', members: [DAVE] })
		const added = await world.events.waitFor('session.group_participants.update', sessionId, {
			where: (e) => e.data.groupJid === team && e.data.action === 'add',
		})
		expect(added.data.participants).toEqual([{ jid: pn(DAVE), lid: world.standIn.lidOf(DAVE), pn: pn(DAVE), role: 'member' }])
		await world.standIn.changeGroup({ group: team, actor: ALICE, action: 'promote', members: [DAVE] })
		const promoted = await world.events.waitFor('session.group_participants.update', sessionId, {
			where: (e) => e.data.groupJid === team && e.data.action === 'promote',
		})
		expect(promoted.data.participants).toEqual([expect.objectContaining({ jid: pn(DAVE), role: 'admin' })])
		const body = await untilGroup(team, (b) => b.participants.some((p: any) => p.jid === pn(DAVE) && p.role === 'admin'), 'Dave promoted')
		expect(body.participants.map((p: any) => p.jid).sort()).toEqual([pn(PHONE), pn(ALICE), pn(BOB), pn(DAVE)].sort())
		expect(body.size).toBe(4)
	})

	it('keeps the creator superadmin through a promote and a demote, as WhatsApp does', async () => {
		for (const action of ['demote', 'promote'] as const) {
			await world.standIn.changeGroup({ group: team, actor: BOB, action, members: [ALICE] })
			const event = await world.events.waitFor('session.group_participants.update', sessionId, {
				where: (e) => e.data.groupJid === team && e.data.action === action && e.data.participants.some((p) => p.jid === pn(ALICE)),
			})
			expect(event.data.participants).toEqual([expect.objectContaining({ jid: pn(ALICE), role: 'superadmin' })])
		}
		expect(world.standIn.group(team).members).toContainEqual(expect.objectContaining({ phone: ALICE, role: 'superadmin' }))
		// Both events are stored once the last one is; the roster still names the creator.
		await untilGroup(team, (b) => b.participants.some((p: any) => p.jid === pn(ALICE) && p.role === 'superadmin'), 'Alice superadmin')
		const stored = (await group(team)).body.participants.find((p: any) => p.jid === pn(ALICE))
		expect(stored.role).toBe('superadmin')
	})

	it('removes and demotes members', async () => {
		await world.standIn.changeGroup({ group: team, actor: ALICE, action: 'demote', members: [BOB] })
		const demoted = await world.events.waitFor('session.group_participants.update', sessionId, {
			where: (e) => e.data.groupJid === team && e.data.action === 'demote' && e.data.participants.some((p) => p.jid === pn(BOB)),
		})
		expect(demoted.data.participants).toEqual([expect.objectContaining({ jid: pn(BOB), role: 'member' })])
		await world.standIn.changeGroup({ group: team, actor: ALICE, action: 'remove', members: [DAVE] })
		const body = await untilGroup(
			team,
			(b) => b.participants.length === 3 && b.participants.some((p: any) => p.jid === pn(BOB) && p.role === 'member'),
			'Bob demoted, Dave gone',
		)
		expect(body.participants.map((p: any) => p.jid)).not.toContain(pn(DAVE))
	})

	it('renames and describes, published as session.groups.update', async () => {
		await world.standIn.setGroupSubject({ group: team, actor: BOB, subject: 'Team A' })
		await world.standIn.setGroupDescription({ group: team, actor: BOB, description: 'The A team' })
		const event = await world.events.waitFor('session.groups.update', sessionId, { where: (e) => e.data.updates.some((u) => u.subject === 'Team A') })
		expect(event.data.updates[0]).toMatchObject({ jid: team, subject: 'Team A' })
		await untilGroup(team, (b) => b.subject === 'Team A' && b.description === 'The A team', 'the new subject and description')
	})

	it('takes in a group created with the account in it', async () => {
		const made = await world.standIn.createGroup({ owner: BOB, subject: 'Newcomers', members: [PHONE] })
		const body = await untilGroup(made.jid, (b) => b.participants.length === 2, 'the new group')
		expect(body).toMatchObject({ subject: 'Newcomers', owner: pn(BOB) })
	})
})

describe('a group the account is added to', () => {
	it('fetches it once and stores it whole: subject, size, addressing and the full roster', async () => {
		const made = await world.standIn.createGroup({ owner: ALICE, subject: 'Joined later', members: [BOB, CAROL], addressing: 'lid', notify: false })
		const before = world.standIn.groupQueries(made.jid)
		await world.standIn.changeGroup({ group: made.jid, actor: ALICE, action: 'add', members: [PHONE] })
		const upsert = await world.events.waitFor('session.groups.upsert', sessionId, { where: (e) => e.data.groups.some((g) => g.jid === made.jid) })
		expect(upsert.data.groups.find((g) => g.jid === made.jid)?.participants).toHaveLength(4)
		const body = await untilGroup(made.jid, (b) => b.participants.length === 4, 'the whole roster')
		expect(body).toMatchObject({ subject: 'Joined later', size: 4, addressingMode: 'lid' })
		expect(world.standIn.groupQueries(made.jid).metadata - before.metadata).toBe(1)
		// The roster the API checks against knows the members: a removal is accepted, not refused with 422.
		const res = await api.post(`/sessions/${sessionId}/groups/${made.jid}/participants`, { action: 'remove', participants: [BOB] })
		expect(res.status).toBe(202)
	})

	it('fetches it again when WhatsApp cannot answer at first', async () => {
		const made = await world.standIn.createGroup({ owner: ALICE, subject: 'Answered later', members: [BOB], notify: false })
		world.standIn.failGroupQueries({ group: made.jid, times: 1 })
		const before = world.standIn.groupQueries(made.jid)
		await world.standIn.changeGroup({ group: made.jid, actor: ALICE, action: 'add', members: [PHONE] })
		const body = await untilGroup(made.jid, (b) => b.subject === 'Answered later', 'the group fetched again')
		expect(body.participants).toEqual([
			expect.objectContaining({ jid: pn(ALICE), role: 'superadmin' }),
			expect.objectContaining({ jid: pn(PHONE), role: 'member' }),
			expect.objectContaining({ jid: pn(BOB), role: 'member' }),
		])
		expect(world.standIn.groupQueries(made.jid).metadata - before.metadata).toBe(2)
	})
})

describe('a group the account is removed from and added to again', () => {
	it('fetches it again: what changed while the account was out is there, and the roster the API checks against', async () => {
		const made = await world.standIn.createGroup({ owner: ALICE, subject: 'Back again', members: [PHONE, BOB] })
		await world.standIn.changeGroup({ group: made.jid, actor: ALICE, action: 'add', members: [CAROL] })
		await untilGroup(made.jid, (b) => b.participants.length === 4, 'Carol in the group')
		await world.standIn.changeGroup({ group: made.jid, actor: ALICE, action: 'remove', members: [PHONE] })
		await world.events.waitFor('session.group_participants.update', sessionId, {
			where: (e) => e.data.groupJid === made.jid && e.data.action === 'remove' && e.data.participants.some((p) => p.jid === pn(PHONE)),
		})
		// While the account is out: renamed, described, one member gone and another come.
		await world.standIn.setGroupSubject({ group: made.jid, actor: ALICE, subject: 'Back again, renamed' })
		await world.standIn.setGroupDescription({ group: made.jid, actor: ALICE, description: 'changed meanwhile' })
		await world.standIn.changeGroup({ group: made.jid, actor: ALICE, action: 'remove', members: [CAROL] })
		await world.standIn.changeGroup({ group: made.jid, actor: ALICE, action: 'add', members: [DAVE] })
		const before = world.standIn.groupQueries(made.jid)
		await world.standIn.changeGroup({ group: made.jid, actor: ALICE, action: 'add', members: [PHONE] })
		const body = await untilGroup(made.jid, (b) => b.subject === 'Back again, renamed', 'the group fetched again')
		expect(body.description).toBe('changed meanwhile')
		expect(body.participants.map((p: any) => p.jid).sort()).toEqual([pn(PHONE), pn(ALICE), pn(BOB), pn(DAVE)].sort())
		expect(world.standIn.groupQueries(made.jid).metadata - before.metadata).toBe(1)
		// Dave is a member and Carol is not: neither change is refused with 422 on a stale roster.
		const remove = await api.post(`/sessions/${sessionId}/groups/${made.jid}/participants`, { action: 'remove', participants: [DAVE] })
		expect(remove.status).toBe(202)
		const add = await api.post(`/sessions/${sessionId}/groups/${made.jid}/participants`, { action: 'add', participants: [CAROL] })
		expect(add.status).toBe(202)
		// Its chat shows the group as it is now, not the subject it had when the account was last in it.
		const chat = await until(async () => {
			const res = await api.get(`/chats/${made.jid}?sessionId=${sessionId}`)
			return res.status === 200 && res.body.displayName === 'Back again, renamed' && res.body
		}, 'the chat under the new subject')
		expect(chat.name).toBe('Back again, renamed')
	})
})

describe('the chat of a group', () => {
	it('is listed from the moment the account is in the group, before anyone writes there', async () => {
		const made = await world.standIn.createGroup({ owner: ALICE, subject: 'Quiet group', members: [BOB], notify: false })
		await world.standIn.changeGroup({ group: made.jid, actor: ALICE, action: 'add', members: [PHONE] })
		const upsert = await world.events.waitFor('session.chats.upsert', sessionId, { where: (e) => e.data.chats.some((c) => c.jid === made.jid) })
		expect(upsert.data.chats.find((c) => c.jid === made.jid)).toEqual({ jid: made.jid, name: 'Quiet group' })
		const chat = await until(async () => {
			const res = await api.get(`/chats/${made.jid}?sessionId=${sessionId}`)
			return res.status === 200 && res.body
		}, 'the group chat')
		expect(chat).toMatchObject({ jid: made.jid, name: 'Quiet group', displayName: 'Quiet group', lastMessageAt: null, lastMessage: null })
		const listed = await api.get(`/chats?sessionId=${sessionId}&limit=100`)
		expect(listed.body.items.map((c: { jid: string }) => c.jid)).toContain(made.jid)
	})

	it('lists the groups fetched on connect as chats', async () => {
		const chat = await api.get(`/chats/${hidden}?sessionId=${sessionId}`)
		expect(chat.status).toBe(200)
		expect(chat.body.displayName).toBe('Hidden numbers')
	})
})

describe('bad input and other tenants', () => {
	it('answers 400 for a JID that is not a group and 404 for a group the session is not in', async () => {
		const notGroup = await group(pn(ALICE))
		expect(notGroup.status).toBe(400)
		expect(notGroup.body.error.code).toBe('INVALID_GROUP_JID')
		const unknown = await group('120363999999999999@g.us')
		expect(unknown.status).toBe(404)
		expect(unknown.body.error.code).toBe('GROUP_NOT_FOUND')
	})

	it('refuses a change of members without its action (Elysia would fill in `add`) or with an unknown one', async () => {
		const res = await api.post(`/sessions/${sessionId}/groups/${team}/participants`, { participants: [DAVE] })
		expect(res.status).toBe(400)
		expect(res.body.error.code).toBe('VALIDATION_FAILED')
		expect(res.body.error.details).toContainEqual(expect.objectContaining({ field: 'action' }))
		expect((await api.post(`/sessions/${sessionId}/groups/${team}/participants`, { action: 'nope', participants: [DAVE] })).status).toBe(400)
	})

	it('refuses an empty subject as it refuses a blank one, with INVALID_SUBJECT', async () => {
		for (const subject of ['', '  ']) {
			const created = await api.post(`/sessions/${sessionId}/groups`, { subject, participants: [`+${ALICE}`] })
			expect([created.status, created.body.error.code]).toEqual([400, 'INVALID_SUBJECT'])
			const renamed = await api.patch(`/sessions/${sessionId}/groups/${team}`, { subject })
			expect([renamed.status, renamed.body.error.code]).toEqual([400, 'INVALID_SUBJECT'])
		}
	})

	it("hides a session's groups from another tenant", async () => {
		const other = await world.tenant()
		expect((await other.get(`/sessions/${sessionId}/groups`)).status).toBe(404)
		expect((await other.get(`/sessions/${sessionId}/groups/${team}`)).status).toBe(404)
		expect((await other.post(`/sessions/${sessionId}/groups/${team}/leave`)).status).toBe(404)
	})
})
