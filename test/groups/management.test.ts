import { afterAll, beforeAll, describe, expect, it } from 'bun:test'
import { type Client, pairedSession, type SessionsWorld, startSessionsWorld } from '../helpers/sessions'
import { until } from '../helpers/until'

/**
 * Group management through the API: each change a command through the backbone, executed by the
 * real Baileys socket against the stand-in, its outcome as `session.command.completed` or
 * `session.command.failed` with WhatsApp's reason, and the change itself back through the group
 * events into GET /sessions/:id/groups/:jid.
 */

const PHONE = '4915100000501'
const ALICE = '4915100000502'
const BOB = '4915100000503'
const CAROL = '4915100000504'
const pn = (phone: string) => `${phone}@s.whatsapp.net`

let world: SessionsWorld
let api: Client
let sessionId: string
/** A group Alice owns and the account is a plain member of. */
let alices: string

beforeAll(async () => {
	world = await startSessionsWorld()
	api = await world.tenant()
	alices = (await world.standIn.createGroup({ owner: ALICE, subject: "Alice's", members: [PHONE, BOB], notify: false })).jid
	sessionId = (await pairedSession(world, api, PHONE)).id
	await until(async () => (await api.get(`/sessions/${sessionId}/groups/${alices}`)).status === 200, "Alice's group")
})
afterAll(() => world.close())

const base = () => `/sessions/${sessionId}/groups`

/** Sends a command request; resolves with the event that ends it. */
async function command(path: string, body?: unknown) {
	const res = await api.post(path, body)
	expect(res.status).toBe(202)
	const { commandId } = res.body
	const completed = world.events.waitFor('session.command.completed', sessionId, { where: (e) => e.data.commandId === commandId, timeoutMs: 20_000 })
	const failed = world.events.waitFor('session.command.failed', sessionId, { where: (e) => e.data.commandId === commandId, timeoutMs: 20_000 })
	completed.catch(() => {})
	failed.catch(() => {})
	return Promise.race([completed, failed])
}

const detail = (jid: string, check: (b: any) => boolean, what: string) =>
	until(async () => {
		const res = await api.get(`${base()}/${jid}`)
		return res.status === 200 && check(res.body) && res.body
	}, what)

let mine: string

describe('a group of our own', () => {
	it('creates a group with this account as superadmin; the result names it', async () => {
		const done = await command(base(), { subject: 'Project', participants: [`+${ALICE}`, pn(BOB)] })
		expect(done.type).toBe('session.command.completed')
		mine = (done.data as any).result.groupJid
		expect(world.standIn.group(mine).members).toContainEqual(expect.objectContaining({ phone: PHONE, role: 'superadmin' }))
		const body = await detail(mine, (b) => b.participants.length === 3, 'the new group')
		expect(body.subject).toBe('Project')
		expect(body.participants[0]).toMatchObject({ jid: pn(PHONE), role: 'superadmin' })
	})

	it('renames it and sets its description', async () => {
		const res = await api.fetch(`${base()}/${mine}`, {
			method: 'PATCH',
			headers: { 'content-type': 'application/json' },
			body: JSON.stringify({ subject: 'Project X', description: 'What we build' }),
		})
		expect(res.status).toBe(202)
		const { commandId } = (await res.json()) as { commandId: string }
		await world.events.waitFor('session.command.completed', sessionId, { where: (e) => e.data.commandId === commandId })
		await detail(mine, (b) => b.subject === 'Project X' && b.description === 'What we build', 'the new subject and description')
		expect(world.standIn.group(mine)).toMatchObject({ subject: 'Project X', description: 'What we build' })

		// Blanks alone are no description: it is removed, as with an empty one.
		const blank = await api.fetch(`${base()}/${mine}`, {
			method: 'PATCH',
			headers: { 'content-type': 'application/json' },
			body: JSON.stringify({ description: '  \n ' }),
		})
		expect(blank.status).toBe(202)
		const removed = (await blank.json()) as { commandId: string }
		await world.events.waitFor('session.command.completed', sessionId, { where: (e) => e.data.commandId === removed.commandId })
		await detail(mine, (b) => !b.description, 'the description removed')
	})

	it('adds, promotes and removes members, with WhatsApp’s answer per member', async () => {
		const added = await command(`${base()}/${mine}/participants`, { action: 'add', participants: [CAROL] })
		expect((added.data as any).result.participants).toEqual([{ jid: pn(CAROL), status: '200' }])
		// The API checks changes against the roster it has stored: Carol first arrives there.
		await detail(mine, (b) => b.participants.some((p: any) => p.jid === pn(CAROL)), 'Carol in the roster')
		await command(`${base()}/${mine}/participants`, { action: 'promote', participants: [pn(CAROL)] })
		await detail(mine, (b) => b.participants.some((p: any) => p.jid === pn(CAROL) && p.role === 'admin'), 'Carol an admin')
		// Named by number and by LID, Carol is one member: WhatsApp is asked about her once.
		const demoted = await command(`${base()}/${mine}/participants`, { action: 'demote', participants: [`+${CAROL}`, world.standIn.lidOf(CAROL)] })
		expect((demoted.data as any).result.participants).toEqual([{ jid: pn(CAROL), status: '200' }])
		await command(`${base()}/${mine}/participants`, { action: 'remove', participants: [world.standIn.lidOf(BOB)] })
		const body = await detail(mine, (b) => !b.participants.some((p: any) => p.jid === pn(BOB)), 'Bob gone')
		expect(body.size).toBe(3)
		expect(world.standIn.group(mine).members.map((m) => m.phone)).not.toContain(BOB)
	})

	it('gives the invite link and revokes it', async () => {
		const got = await command(`${base()}/${mine}/invite`)
		const code = world.standIn.group(mine).inviteCode
		expect((got.data as any).result).toEqual({ groupJid: mine, inviteCode: code, inviteLink: `https://chat.whatsapp.com/${code}` })
		const revoked = await command(`${base()}/${mine}/invite/revoke`)
		expect((revoked.data as any).result.inviteCode).toBe(world.standIn.group(mine).inviteCode)
		expect((revoked.data as any).result.inviteCode).not.toBe(code)
	})

	it('leaves it: the group is no longer listed', async () => {
		const done = await command(`${base()}/${mine}/leave`)
		expect(done.type).toBe('session.command.completed')
		await until(async () => (await api.get(`${base()}/${mine}`)).status === 404, 'the group gone')
		const list = await api.get(base())
		expect(list.body.items.map((g: any) => g.jid)).not.toContain(mine)
	})
})

describe("WhatsApp's refusals", () => {
	it('fails a change by a member who is not an admin with group_not_admin', async () => {
		const done = await command(`${base()}/${alices}/participants`, { action: 'promote', participants: [BOB] })
		expect(done.type).toBe('session.command.failed')
		expect((done.data as any).error.code).toBe('group_not_admin')
		expect((done.data as any).error.message).toContain('401')
	})

	it('fails a message to a group WhatsApp knows not with group_not_found, not its bare item-not-found', async () => {
		const sendTo = async (group: string) => {
			const res = await api.post(`/chats/${group}/messages?sessionId=${sessionId}`, { text: 'anyone here?' })
			expect(res.status).toBe(202)
			const failed = await world.events.waitFor('session.command.failed', sessionId, {
				where: (e) => e.data.messageId === res.body.messageId,
				timeoutMs: 20_000,
			})
			return failed.data.error
		}
		expect(await sendTo('120363000000000077@g.us')).toMatchObject({ code: 'group_not_found', message: expect.stringContaining('no such group') })
	})

	it('fails asking for the invite link of a group where this account is no admin', async () => {
		const done = await command(`${base()}/${alices}/invite`)
		expect((done.data as any).error.code).toBe('group_not_admin')
	})
})

describe('bad input', () => {
	it('refuses a participant not in the group, and one already in it, with 422', async () => {
		const missing = await api.post(`${base()}/${alices}/participants`, { action: 'remove', participants: [CAROL] })
		expect(missing.status).toBe(422)
		expect(missing.body.error).toMatchObject({ code: 'PARTICIPANT_NOT_IN_GROUP', details: { participants: [pn(CAROL)] } })
		const present = await api.post(`${base()}/${alices}/participants`, { action: 'add', participants: [BOB] })
		expect(present.status).toBe(422)
		expect(present.body.error.code).toBe('PARTICIPANT_ALREADY_IN_GROUP')
	})

	it('refuses an empty subject, a group JID that is not one, a bad participant and an unknown action', async () => {
		expect((await api.post(base(), { subject: '   ', participants: [ALICE] })).body.error.code).toBe('INVALID_SUBJECT')
		expect((await api.post(base(), { subject: 'x', participants: ['not a number'] })).body.error.code).toBe('INVALID_PARTICIPANT')
		expect((await api.post(base(), { subject: 'x', participants: [] })).status).toBe(400)
		const notGroup = await api.post(`${base()}/${pn(ALICE)}/leave`)
		expect(notGroup.status).toBe(400)
		expect(notGroup.body.error.code).toBe('INVALID_GROUP_JID')
		expect((await api.post(`${base()}/${alices}/participants`, { action: 'ban', participants: [BOB] })).status).toBe(400)
		const nothing = await api.fetch(`${base()}/${alices}`, { method: 'PATCH', headers: { 'content-type': 'application/json' }, body: '{}' })
		expect(nothing.status).toBe(400)
	})

	it('answers 404 for a group the session is not in', async () => {
		const res = await api.post(`${base()}/120363999999999999@g.us/leave`)
		expect(res.status).toBe(404)
		expect(res.body.error.code).toBe('GROUP_NOT_FOUND')
	})
})

describe('other tenants', () => {
	it('cannot see or change this session’s groups on any route', async () => {
		const other = await world.tenant()
		const g = `/sessions/${sessionId}/groups`
		const patch = await other.fetch(`${g}/${alices}`, { method: 'PATCH', headers: { 'content-type': 'application/json' }, body: '{"subject":"x"}' })
		const answers = [
			(await other.get(g)).status,
			(await other.get(`${g}/${alices}`)).status,
			(await other.post(g, { subject: 'x', participants: [ALICE] })).status,
			patch.status,
			(await other.post(`${g}/${alices}/participants`, { action: 'add', participants: [CAROL] })).status,
			(await other.post(`${g}/${alices}/leave`)).status,
			(await other.post(`${g}/${alices}/invite`)).status,
			(await other.post(`${g}/${alices}/invite/revoke`)).status,
		]
		expect(answers).toEqual([404, 404, 404, 404, 404, 404, 404, 404])
	})
})
