import { afterAll, beforeAll, describe, expect, it } from 'bun:test'
import type { GroupMetadata, GroupParticipant } from '@whiskeysockets/baileys'
import { startStandIn, type StandIn } from '../src'
import { trustRootKey } from './root-key'
import { pairedCompanion, quietLibsignal, type TestCompanion } from './companion'

const ACCOUNT = '15550000200'
const ALICE = '15550000201'
const BOB = '15550000202'
const CAROL = '15550000203'

let standIn: StandIn
let companion: TestCompanion
const participantUpdates: Array<{ id: string; action: string; participants: GroupParticipant[] }> = []
const groupUpdates: Array<Partial<GroupMetadata>> = []
const restoreConsole = quietLibsignal()

beforeAll(async () => {
	standIn = await startStandIn()
	trustRootKey(standIn.rootPublicKey)
	;({ companion } = await pairedCompanion(standIn, ACCOUNT))
	await companion.untilInitialSync()
	companion.socket!.ev.on('group-participants.update', (update) => participantUpdates.push(update))
	companion.socket!.ev.on('groups.update', (updates) => groupUpdates.push(...updates))
})

afterAll(async () => {
	restoreConsole()
	companion.end()
	await standIn.stop()
})

const sock = () => companion.socket!

describe('group metadata', () => {
	it('lists the groups the account takes part in, a phone-number roster with each LID beside it', async () => {
		const group = await standIn.createGroup({ owner: ALICE, subject: 'Team', members: [ACCOUNT, BOB], admins: [BOB], notify: false })
		const all = await sock().groupFetchAllParticipating()
		const meta = all[group.jid]!
		expect(meta).toMatchObject({ subject: 'Team', size: 3, addressingMode: 'pn', owner: `${ALICE}@s.whatsapp.net` })
		expect(meta.participants).toContainEqual(expect.objectContaining({ id: `${BOB}@s.whatsapp.net`, lid: standIn.lidOf(BOB), admin: 'admin' }))
		expect(meta.participants).toContainEqual(expect.objectContaining({ id: `${ALICE}@s.whatsapp.net`, admin: 'superadmin' }))
	})

	it('names the members of a LID group by LID, with the phone numbers it shows', async () => {
		const group = await standIn.createGroup({
			owner: ALICE,
			subject: 'Hidden',
			members: [ACCOUNT, CAROL],
			addressing: 'lid',
			hidePhones: [CAROL],
			notify: false,
		})
		const meta = await sock().groupMetadata(group.jid)
		expect(String(meta.addressingMode)).toBe('lid')
		expect(meta.participants).toContainEqual(expect.objectContaining({ id: standIn.lidOf(CAROL), phoneNumber: undefined }))
		expect(meta.participants).toContainEqual(expect.objectContaining({ id: standIn.lidOf(ALICE), phoneNumber: `${ALICE}@s.whatsapp.net` }))
		expect(standIn.groupQueries(group.jid).metadata).toBe(1)
	})

	it('answers item-not-found for a group that does not exist and forbidden to a non-member', async () => {
		expect(
			await sock()
				.groupMetadata('120363000000000000@g.us')
				.catch((error) => error),
		).toMatchObject({ message: 'item-not-found' })
		const other = await standIn.createGroup({ owner: ALICE, subject: 'Elsewhere', members: [BOB], notify: false })
		expect(
			await sock()
				.groupMetadata(other.jid)
				.catch((error) => error),
		).toMatchObject({ message: 'forbidden' })
	})

	it('answers internal-server-error to as many metadata queries as it is told to fail, then the metadata', async () => {
		const group = await standIn.createGroup({ owner: ALICE, subject: 'Busy', members: [ACCOUNT], notify: false })
		standIn.failGroupQueries({ group: group.jid, times: 2 })
		for (let i = 0; i < 2; i++)
			expect(
				await sock()
					.groupMetadata(group.jid)
					.catch((error) => error),
			).toMatchObject({ message: 'internal-server-error', data: 500 })
		expect(await sock().groupMetadata(group.jid)).toMatchObject({ subject: 'Busy' })
		expect(standIn.groupQueries(group.jid).metadata).toBe(3)
	})
})

describe('group management', () => {
	it('creates a group and tells the companion with a create notification', async () => {
		const upserts: GroupMetadata[] = []
		sock().ev.on('groups.upsert', (groups) => upserts.push(...groups))
		const meta = await sock().groupCreate('Made here', [`${ALICE}@s.whatsapp.net`])
		expect(meta.subject).toBe('Made here')
		expect(standIn.group(meta.id).members).toContainEqual(expect.objectContaining({ phone: ACCOUNT, role: 'superadmin' }))
		await companion.until(() => upserts.find((g) => g.id === meta.id), 'groups.upsert')
	})

	it('refuses changes to the roster from a member who is not an admin', async () => {
		const group = await standIn.createGroup({ owner: ALICE, subject: 'Strict', members: [ACCOUNT, BOB], notify: false })
		expect(
			await sock()
				.groupParticipantsUpdate(group.jid, [`${BOB}@s.whatsapp.net`], 'remove')
				.catch((error) => error),
		).toMatchObject({ message: 'not-authorized' })
	})

	it('adds, promotes and removes, answering per participant, and notifies the members', async () => {
		const meta = await sock().groupCreate('Mine', [`${ALICE}@s.whatsapp.net`])
		const added = await sock().groupParticipantsUpdate(meta.id, [`${BOB}@s.whatsapp.net`, `${ALICE}@s.whatsapp.net`], 'add')
		expect(added.map((r) => r.status)).toEqual(['200', '409'])
		await companion.until(() => participantUpdates.find((u) => u.id === meta.id && u.action === 'add'), 'the add notification')
		const removed = await sock().groupParticipantsUpdate(meta.id, [`${CAROL}@s.whatsapp.net`], 'remove')
		expect(removed[0]?.status).toBe('404')
		await sock().groupParticipantsUpdate(meta.id, [`${BOB}@s.whatsapp.net`], 'promote')
		await companion.until(() => participantUpdates.find((u) => u.id === meta.id && u.action === 'promote'), 'the promote notification')
		expect(standIn.group(meta.id).members).toContainEqual(expect.objectContaining({ phone: BOB, role: 'admin' }))
	})

	it('renames, describes, gives and revokes the invite code, and leaves', async () => {
		const meta = await sock().groupCreate('Old name', [`${ALICE}@s.whatsapp.net`])
		await sock().groupUpdateSubject(meta.id, 'New name')
		await companion.until(() => groupUpdates.find((u) => u.id === meta.id && u.subject === 'New name'), 'the subject update')
		await sock().groupUpdateDescription(meta.id, 'About us')
		await companion.until(() => groupUpdates.find((u) => u.id === meta.id && u.desc === 'About us'), 'the description update')
		const code = await sock().groupInviteCode(meta.id)
		expect(code).toBe(standIn.group(meta.id).inviteCode)
		const revoked = await sock().groupRevokeInvite(meta.id)
		expect(revoked).not.toBe(code)
		await sock().groupLeave(meta.id)
		expect(standIn.group(meta.id).members.map((m) => m.phone)).toEqual([ALICE])
	})
})

describe('group messages', () => {
	it('decrypts what the companion sends to a group with the sender key it distributed', async () => {
		const group = await standIn.createGroup({ owner: ALICE, subject: 'Chat', members: [ACCOUNT, BOB], notify: false })
		const first = await sock().sendMessage(group.jid, { text: 'hello group' })
		const sent = await standIn.waitForSent((m) => m.id === first!.key.id)
		expect(sent.to).toBe(group.jid)
		expect(sent.text).toBe('hello group')
		const second = await sock().sendMessage(group.jid, { text: 'again' })
		expect((await standIn.waitForSent((m) => m.id === second!.key.id)).text).toBe('again')
	})

	it('delivers a member’s message with the sender as participant', async () => {
		const group = await standIn.createGroup({ owner: ALICE, subject: 'Incoming', members: [ACCOUNT, BOB], addressing: 'lid', notify: false })
		const { id } = await standIn.deliverToGroup({ group: group.jid, from: BOB, text: 'hi all', pushName: 'Bob' })
		const message = await companion.messageOf(id)
		expect(message.key).toMatchObject({ remoteJid: group.jid, participant: standIn.lidOf(BOB), participantAlt: `${BOB}@s.whatsapp.net` })
	})
})

describe('the HTTP control routes', () => {
	const post = async (path: string, body: unknown) => {
		const res = await fetch(`${standIn.httpUrl}${path}`, { method: 'POST', body: JSON.stringify(body) })
		return { status: res.status, body: (await res.json()) as any }
	}

	it('create a group, change it and show it', async () => {
		const created = await post('/control/groups', { owner: ALICE, subject: 'Over HTTP', members: [BOB], lid: true, hidePhones: true })
		expect(created.status).toBe(200)
		expect(created.body).toMatchObject({ subject: 'Over HTTP', addressing: 'lid' })
		const changed = await post('/control/groups/change', { group: created.body.jid, actor: ALICE, action: 'promote', members: [BOB] })
		expect(changed.body).toEqual([{ phone: BOB }])
		const shown = (await (await fetch(`${standIn.httpUrl}/control/groups/${created.body.jid}`)).json()) as any
		expect(shown.members).toContainEqual(expect.objectContaining({ phone: BOB, role: 'admin', phoneHidden: true }))
		expect(shown.queries).toEqual({ metadata: 0, participating: expect.any(Number) })
	})

	it('fail metadata queries as told, and refuse a count that is not a whole number', async () => {
		const created = await post('/control/groups', { owner: ALICE, subject: 'Failing', members: [ACCOUNT] })
		expect((await post('/control/groups/fail-queries', { group: created.body.jid, times: 1 })).status).toBe(200)
		expect(
			await sock()
				.groupMetadata(created.body.jid)
				.catch((error) => error),
		).toMatchObject({ message: 'internal-server-error' })
		expect(await sock().groupMetadata(created.body.jid)).toMatchObject({ subject: 'Failing' })
		expect((await post('/control/groups/fail-queries', { group: created.body.jid, times: 1.5 })).status).toBe(400)
	})

	it('refuse an unknown action', async () => {
		const res = await post('/control/groups/change', { group: 'x@g.us', actor: ALICE, action: 'ban', members: [BOB] })
		expect(res.status).toBe(400)
	})
})
