import { afterAll, beforeAll, describe, expect, it } from 'bun:test'
import { randomBytes } from 'node:crypto'
import postgres from 'postgres'
import type { SentMessage } from '@switchboard/standin'
import { receiveStored, retriesAsked, sendDecrypted } from '../helpers/conversations'
import { type Client, pairedSession, type SessionsWorld, startSessionsWorld, untilStatus } from '../helpers/sessions'
import { sha256, upload } from '../helpers/uploads'

/**
 * A message one side cannot decrypt is asked for again (WhatsApp's retry receipt) and sent again,
 * same id, on a new Signal session: it still arrives, and the conversation goes on.
 */

const PHONE = '4915100000501'
const FRIEND = '4915100000502'
const OTHER_FRIEND = '4915100000503'
const THIRD_FRIEND = '4915100000504'
const FOURTH_FRIEND = '4915100000505'
const FIFTH_FRIEND = '4915100000506'
const PHOTO = new Uint8Array(randomBytes(40_000))
let world: SessionsWorld
let api: Client
let sessionId: string
let sql: postgres.Sql

beforeAll(async () => {
	world = await startSessionsWorld()
	api = await world.tenant()
	sessionId = (await pairedSession(world, api, PHONE)).id
	sql = postgres(world.app.database.url, { max: 1, onnotice: () => {} })
})
afterAll(async () => {
	await sql?.end({ timeout: 5 })
	await world?.close()
})

const sendTo = (contact: string, text: string) => sendDecrypted(world.standIn, { api, sessionId }, contact, text)
const receiveFrom = (contact: string, text: string) => receiveStored(world.standIn, { phone: PHONE, api, sessionId }, contact, text)

describe('a message the other side cannot decrypt', () => {
	it("is asked for again by the contact's phone and sent again on a new session", async () => {
		await sendTo(FRIEND, 'before the phone lost its sessions')
		// As a phone restored without its Signal sessions: the next message comes on one it lost.
		world.standIn.forgetSessions(FRIEND)
		const before = retriesAsked(world.standIn)
		await sendTo(FRIEND, 'after')
		expect(retriesAsked(world.standIn).byPhones).toBe(before.byPhones + 1)
		await sendTo(FRIEND, 'and on')
		await receiveFrom(FRIEND, 'and back')
	})

	it.each([
		[
			'a text',
			FOURTH_FRIEND,
			async () => ({ text: 'while your phone was off' }),
			(m: SentMessage) => expect(m.text).toBe('while your phone was off'),
		],
		[
			'an image',
			FIFTH_FRIEND,
			async () => ({ image: { mediaId: await upload(api, PHOTO, 'image/jpeg') }, caption: 'the receipt' }),
			// The file the phone downloads with the resent message's keys is the upload.
			(m: SentMessage) => {
				expect(m.media).toMatchObject({ field: 'imageMessage', verified: true, sha256: sha256(PHOTO), size: PHOTO.byteLength })
				expect(m.message?.imageMessage?.caption).toBe('the receipt')
			},
		],
	] as const)('is sent again from the stored messages when the phone asks after the session restarted: %s', async (_, contact, content, check) => {
		await sendTo(contact, 'hello')
		// The phone is off, and comes back without its sessions: it asks for the message only once
		// the companion's socket that sent it is gone, and a new one has nothing of it in memory.
		await world.standIn.setPhoneOnline(contact, false)
		world.standIn.forgetSessions(contact)
		const { status, body } = await api.post(`/chats/${contact}@s.whatsapp.net/messages`, await content())
		expect(status).toBe(202)
		const id = body.messageId as string
		// WhatsApp has it: the account's phone answered with its sender receipt.
		await world.events.waitFor('session.messages.update', sessionId, { where: (e) => e.data.updates.some((u) => u.key.id === id) })
		expect((await api.post(`/sessions/${sessionId}/stop`)).status).toBe(202)
		await untilStatus(api, sessionId, 'stopped')
		expect((await api.post(`/sessions/${sessionId}/start`)).status).toBe(202)
		await untilStatus(api, sessionId, 'connected')

		const before = retriesAsked(world.standIn)
		await world.standIn.setPhoneOnline(contact, true)
		const arrived = await world.standIn.waitForSent((m) => m.id === id && !m.undecryptedBy)
		expect(retriesAsked(world.standIn).byPhones).toBe(before.byPhones + 1)
		check(arrived)
	})

	it('arrives both ways after the database was restored from an older backup', async () => {
		// Two conversations: what heals one way heals the other too (a new session either way).
		const [writtenTo, writtenBy] = [OTHER_FRIEND, THIRD_FRIEND]
		// Each conversation ends with a message received: the runner handles a contact's messages one
		// after another, so by the time it is stored, the session state of the send before it is too.
		const converse = async (contact: string, texts: string[]) => {
			for (const [i, text] of texts.entries()) await (i % 2 ? sendTo(contact, text) : receiveFrom(contact, text))
		}
		for (const contact of [writtenTo, writtenBy]) await converse(contact, ['hello', 'hello to you', 'fine'])
		// A backup of the session's Signal state, taken now.
		const backup = await sql`select type, key_id, value from session_auth_keys where session_id = ${sessionId}`
		const creds = await sql`select creds from session_auth where session_id = ${sessionId}`
		// Both sides step their ratchets past it.
		for (const contact of [writtenTo, writtenBy]) await converse(contact, ['one', 'two', 'three', 'four'])

		expect((await api.post(`/sessions/${sessionId}/stop`)).status).toBe(202)
		await untilStatus(api, sessionId, 'stopped')
		await sql.begin(async (tx) => {
			await tx`delete from session_auth_keys where session_id = ${sessionId}`
			for (const { type, key_id, value } of backup)
				await tx`insert into session_auth_keys (session_id, type, key_id, value) values (${sessionId}, ${type}, ${key_id}, ${value})`
			await tx`update session_auth set creds = ${creds[0]!.creds} where session_id = ${sessionId}`
		})
		expect((await api.post(`/sessions/${sessionId}/start`)).status).toBe(202)
		await untilStatus(api, sessionId, 'connected')

		// The restored sessions are behind the phones': the first message each way does not decrypt,
		// and is asked for again: by the companion from a phone, by a phone from the companion.
		const before = retriesAsked(world.standIn)
		await receiveFrom(writtenBy, 'are you there?')
		expect(retriesAsked(world.standIn).byCompanions).toBeGreaterThan(before.byCompanions)
		await sendTo(writtenTo, 'sorry, we restored a backup')
		expect(retriesAsked(world.standIn).byPhones).toBeGreaterThan(before.byPhones)
		for (const contact of [writtenTo, writtenBy]) await converse(contact, ['good', 'and on'])
	})
})
