import { afterAll, beforeAll, describe, expect, it } from 'bun:test'
import { proto } from '@whiskeysockets/baileys'
import { and, eq } from 'drizzle-orm'
import { newOutgoingMessageId } from '../../src/core/message-id'
import { sessionChats } from '../../src/db/schema'
import { until } from '../helpers/until'
import { startHarness, type RunnerHarness, type SessionRef } from './harness'

const ACCOUNT = '15552000001'
const ALICE = '15552000101'
const BOB = '15552000102'
const CAROL = '15552000103'

let h: RunnerHarness
let ref: SessionRef

beforeAll(async () => {
	h = await startHarness()
	ref = await h.createSession()
	await h.pairByQr(ref, ACCOUNT, 'Ana')
}, 30_000)
afterAll(async () => {
	await h?.close()
}, 30_000)

/** A fresh message id in the shape Baileys generates: `3EB0` + 18 upper-case hex digits. */

describe('incoming messages', () => {
	it('stores a plaintext message under the contact’s phone JID, with push name and the LID beside it', async () => {
		const { id } = await h.standIn.deliverText({ to: ACCOUNT, from: ALICE, text: 'hello', pushName: 'Alice' })
		const row = await until(() => h.message(ref, id), `message ${id}`)
		expect(row).toMatchObject({
			chatJid: `${ALICE}@s.whatsapp.net`,
			fromMe: false,
			text: 'hello',
			type: 'conversation',
			pushName: 'Alice',
			senderJid: `${ALICE}@s.whatsapp.net`,
			senderAltJid: h.standIn.lidOf(ALICE),
		})
		const upsert = await h.waitForEvent(ref, 'session.messages.upsert', { where: (e) => e.data.messages.some((m) => m.key.id === id) })
		expect(upsert.data.type).toBe('notify')
	}, 20_000)

	it('stores Signal-encrypted messages (pkmsg, then msg once a session exists)', async () => {
		const first = await h.standIn.deliverEncrypted({ to: ACCOUNT, from: BOB, text: 'secret one' })
		const second = await h.standIn.deliverEncrypted({ to: ACCOUNT, from: BOB, text: 'secret two' })
		expect(first.devices[0]?.as).toBe('pkmsg')
		expect((await until(() => h.message(ref, first.id), 'first'))!.text).toBe('secret one')
		expect((await until(() => h.message(ref, second.id), 'second'))!.text).toBe('secret two')
	}, 20_000)

	it('files a LID-addressed message under the phone JID when WhatsApp gives both', async () => {
		const { id, chat } = await h.standIn.deliverEncrypted({ to: ACCOUNT, from: CAROL, text: 'via lid', addressing: 'lid' })
		expect(chat).toBe(h.standIn.lidOf(CAROL))
		const row = await until(() => h.message(ref, id), `message ${id}`)
		expect(row).toMatchObject({ chatJid: `${CAROL}@s.whatsapp.net`, text: 'via lid' })
		const [stored] = await h.database.db
			.select()
			.from(sessionChats)
			.where(and(eq(sessionChats.sessionId, ref.sessionId), eq(sessionChats.jid, `${CAROL}@s.whatsapp.net`)))
		expect(stored).toMatchObject({ pnJid: `${CAROL}@s.whatsapp.net`, lidJid: h.standIn.lidOf(CAROL) })
	}, 20_000)

	it('a message deleted for everyone loses its text for good', async () => {
		const { id } = await h.standIn.deliverText({ to: ACCOUNT, from: ALICE, text: 'oops' })
		await until(() => h.message(ref, id), `message ${id}`)
		await h.standIn.deliverText({
			to: ACCOUNT,
			from: ALICE,
			text: '',
			message: {
				protocolMessage: { type: proto.Message.ProtocolMessage.Type.REVOKE, key: { remoteJid: `${ACCOUNT}@s.whatsapp.net`, fromMe: true, id } },
			},
		})
		const row = await until(async () => {
			const r = await h.message(ref, id)
			return r?.revokedAt && r
		}, 'the revoke')
		expect(row).toMatchObject({ text: null, content: null })
	}, 20_000)
})

describe('sending', () => {
	it('sends with our message id; receipts move the stored status to READ without touching its time', async () => {
		const messageId = newOutgoingMessageId()
		await h.command('session.messages.send', ref, { messageId, to: `${BOB}@s.whatsapp.net`, content: { text: 'hi Bob' } })
		const sent = await h.standIn.waitForSent((m) => m.id === messageId)
		expect(sent).toMatchObject({ to: `${BOB}@s.whatsapp.net`, text: 'hi Bob' })
		// The message itself, not the row its phone's receipt may have made first (a status without it).
		const stored = await until(async () => {
			const r = await h.message(ref, messageId)
			return r?.timestamp && r
		}, 'the sent message')
		expect(stored).toMatchObject({ fromMe: true, chatJid: `${BOB}@s.whatsapp.net`, text: 'hi Bob' })

		await h.standIn.sendReceipts({ ids: [messageId] })
		await h.standIn.sendReceipts({ ids: [messageId], type: 'read' })
		const read = await until(async () => {
			const r = await h.message(ref, messageId)
			return r?.status === proto.WebMessageInfo.Status.READ && r
		}, 'status READ')
		expect(read.timestamp).toEqual(stored!.timestamp)
	}, 20_000)

	it('a retried send command with the same message id sends once', async () => {
		const messageId = newOutgoingMessageId()
		const data = { messageId, to: `${ALICE}@s.whatsapp.net`, content: { text: 'only once' } }
		const first = await h.command('session.messages.send', ref, data)
		await h.standIn.waitForSent((m) => m.id === messageId)
		const retry = await h.command('session.messages.send', ref, data)
		// A later command proves the runner has handled the retry (one partition, in order).
		const probe = newOutgoingMessageId()
		await h.command('session.messages.send', ref, { ...data, messageId: probe })
		await h.standIn.waitForSent((m) => m.id === probe)
		expect(h.standIn.sent(ACCOUNT).filter((m) => m.id === messageId)).toHaveLength(1)
		expect(first.id).not.toBe(retry.id)
		expect(h.events.filter((e) => e.type === 'session.command.failed' && e.data.commandId === retry.id)).toHaveLength(0)
	}, 20_000)

	it('a send to a session that is not connected fails with the reason', async () => {
		const idle = await h.createSession()
		const messageId = newOutgoingMessageId()
		const cmd = await h.command('session.messages.send', idle, { messageId, to: `${ALICE}@s.whatsapp.net`, content: { text: 'nobody home' } })
		const failed = await h.waitForEvent(idle, 'session.command.failed', { where: (e) => e.data.commandId === cmd.id })
		expect(failed.data).toEqual({
			commandId: cmd.id,
			command: 'session.messages.send',
			messageId,
			error: { code: 'session_not_connected', message: 'the session is not running' },
		})
	}, 20_000)
})
