import { afterAll, beforeAll, describe, expect, it } from 'bun:test'
import { proto } from '@whiskeysockets/baileys'
import { startStandIn, type StandIn } from '../src'
import { trustRootKey } from './root-key'
import { pairedCompanion, quietLibsignal, type TestCompanion } from './companion'

const ACCOUNT = '15550000100'
const ALICE = '15550000101'
const BOB = '15550000102'
const CAROL = '15550000103'

let standIn: StandIn
let companion: TestCompanion
const restoreConsole = quietLibsignal()

beforeAll(async () => {
	standIn = await startStandIn()
	trustRootKey(standIn.rootPublicKey)
	;({ companion } = await pairedCompanion(standIn, ACCOUNT))
	// The first login after pairing ends with the phone's initial history sync.
	await companion.untilInitialSync()
})

afterAll(async () => {
	restoreConsole()
	companion.end()
	await standIn.stop()
})

const upsertOf = (id: string) => companion.upserts.find(({ message }) => message.key.id === id)

describe('messages to the companion', () => {
	it('delivers a plaintext message, addressed by phone number with the LID beside it', async () => {
		const { id, devices } = await standIn.deliverText({ to: ACCOUNT, from: ALICE, text: 'hello', pushName: 'Alice' })
		expect(devices).toEqual([{ jid: `${ACCOUNT}:1@s.whatsapp.net`, as: 'plaintext' }])
		expect(await companion.textOf(id)).toBe('hello')
		const { message, type } = upsertOf(id)!
		expect(type).toBe('notify')
		expect(message.key).toMatchObject({ remoteJid: `${ALICE}@s.whatsapp.net`, fromMe: false, addressingMode: 'pn' })
		expect(message.key.remoteJidAlt).toBe(standIn.lidOf(ALICE))
		expect(message.pushName).toBe('Alice')
	})

	it('delivers Signal messages from a contact: a pkmsg built from the uploaded prekeys, decrypted by Baileys', async () => {
		const first = await standIn.deliverEncrypted({ to: ACCOUNT, from: BOB, text: 'secret one' })
		const second = await standIn.deliverEncrypted({ to: ACCOUNT, from: BOB, text: 'secret two' })
		expect(first.devices[0]?.as).toBe('pkmsg')
		expect(second.devices[0]?.as).toBe('pkmsg') // still pending: the companion has not answered yet
		expect(await companion.textOf(first.id)).toBe('secret one')
		expect(await companion.textOf(second.id)).toBe('secret two')
	})

	it('delivers a LID-addressed message carrying sender_pn', async () => {
		const { id, chat } = await standIn.deliverEncrypted({ to: ACCOUNT, from: CAROL, text: 'via lid', addressing: 'lid' })
		expect(chat).toBe(standIn.lidOf(CAROL))
		expect(await companion.textOf(id)).toBe('via lid')
		expect(upsertOf(id)!.message.key).toMatchObject({
			remoteJid: standIn.lidOf(CAROL),
			remoteJidAlt: `${CAROL}@s.whatsapp.net`,
			addressingMode: 'lid',
		})
	})

	it('tells the companion when its one-time prekeys run low, and it uploads more', async () => {
		const [device] = standIn.core.state.devicesOf(ACCOUNT)
		for (const id of [...device!.preKeys.keys()].slice(5)) device!.preKeys.delete(id)
		const after = standIn.position
		const { id } = await standIn.deliverEncrypted({ to: ACCOUNT, from: '15550000104', text: 'one prekey less' })
		await standIn.core.log.waitFor('iq', (event) => event.xmlns === 'encrypt' && event.child === 'registration', { after })
		expect(device!.preKeys.size).toBe(9)
		expect(await companion.textOf(id)).toBe('one prekey less')
	})

	it('keeps messages for an offline companion and delivers them at its next login', async () => {
		const jid = `${ACCOUNT}:1@s.whatsapp.net`
		companion.end()
		await standIn.waitForDisconnect(jid)
		const { id, devices } = await standIn.deliverEncrypted({ to: ACCOUNT, from: ALICE, text: 'while you were away' })
		expect(devices[0]?.as).toBe('queued')

		const opens = companion.updates.filter((update) => update.connection === 'open').length
		companion.start()
		await companion.untilOpen(opens + 1)
		expect(await companion.textOf(id)).toBe('while you were away')
		expect(upsertOf(id)!.type).toBe('append')
	})

	it('keeps a delivered message until the companion answers it, and delivers it again at the next login if it never did', async () => {
		const jid = `${ACCOUNT}:1@s.whatsapp.net`
		const answered = await standIn.deliverText({ to: ACCOUNT, from: ALICE, text: 'answered' })
		await standIn.waitForReceipt((receipt) => receipt.ids.includes(answered.id))
		expect(standIn.device(jid).unanswered).toEqual([])

		const { id } = await standIn.deliverEncrypted({ to: ACCOUNT, from: ALICE, text: 'never answered', id: '3A0000000000000000AA' })
		companion.withheldReceipts.add(id)
		expect(await companion.textOf(id)).toBe('never answered')
		expect(standIn.device(jid).unanswered).toEqual([id])

		companion.withheldReceipts.delete(id)
		const position = standIn.position
		companion.end()
		await standIn.waitForDisconnect(jid, { after: position })
		const opens = companion.updates.filter((update) => update.connection === 'open').length
		companion.start()
		await companion.untilOpen(opens + 1)
		await standIn.waitForReceipt((receipt) => receipt.ids.includes(id), { after: position })
		expect(companion.upserts.filter(({ message }) => message.key.id === id).map(({ type }) => type)).toEqual(['notify', 'append'])
		expect(standIn.device(jid).unanswered).toEqual([])
	})
})

describe('messages from the companion', () => {
	it('records what the companion sends, decrypted, and its receipts move the status forward', async () => {
		const sent = await companion.socket!.sendMessage(`${BOB}@s.whatsapp.net`, { text: 'hi Bob' })
		const id = sent!.key.id!
		const recorded = await standIn.waitForSent((message) => message.id === id)
		expect(recorded).toMatchObject({ to: `${BOB}@s.whatsapp.net`, from: `${ACCOUNT}:1@s.whatsapp.net`, text: 'hi Bob' })
		expect(recorded.recipients).toContain(`${BOB}@s.whatsapp.net`)

		await standIn.sendReceipts({ ids: [id] })
		await companion.untilStatus(id, proto.WebMessageInfo.Status.DELIVERY_ACK)
		await standIn.sendReceipts({ ids: [id], type: 'read' })
		await companion.untilStatus(id, proto.WebMessageInfo.Status.READ)
	})

	it('after the companion answered, the contact writes with the established session (msg, not pkmsg)', async () => {
		const { id, devices } = await standIn.deliverEncrypted({ to: ACCOUNT, from: BOB, text: 'got it' })
		expect(devices[0]?.as).toBe('msg')
		expect(await companion.textOf(id)).toBe('got it')
	})

	it('records the receipts the companion sends for delivered messages', async () => {
		const { id } = await standIn.deliverText({ to: ACCOUNT, from: ALICE, text: 'read me' })
		await companion.textOf(id)
		const { key } = upsertOf(id)!.message
		await companion.socket!.readMessages([key])
		const receipt = await standIn.waitForReceipt((receipt) => receipt.ids.includes(id) && receipt.type === 'read')
		expect(receipt.to).toBe(`${ALICE}@s.whatsapp.net`)
	})

	it("mirrors the phone's read receipt for a received message to the companion, as READ of that message", async () => {
		const { id } = await standIn.deliverText({ to: ACCOUNT, from: ALICE, text: 'read on the phone' })
		await companion.textOf(id)
		await standIn.readOnPhone({ to: ACCOUNT, from: ALICE, ids: [id] })
		const read = await companion.until(
			() => companion.messageUpdates.find(({ key, update }) => key.id === id && update.status === proto.WebMessageInfo.Status.READ),
			'READ of the received message',
		)
		expect(read.key).toMatchObject({ remoteJid: `${ALICE}@s.whatsapp.net`, fromMe: false })
	})

	it('records a message to a LID chat', async () => {
		const sent = await companion.socket!.sendMessage(standIn.lidOf(CAROL), { text: 'hi Carol' })
		const recorded = await standIn.waitForSent((message) => message.id === sent!.key.id)
		expect(recorded).toMatchObject({ to: standIn.lidOf(CAROL), text: 'hi Carol' })
	})
})
