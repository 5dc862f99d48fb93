import { afterAll, beforeAll, describe, expect, it } from 'bun:test'
import { type Client, pairedSession, type SessionsWorld, startSessionsWorld } from '../helpers/sessions'

/**
 * After a message to a contact, WhatsApp Web issues the contact its privacy token, and notes when,
 * so that it issues one again only a week later. The note is written after the send's key-store
 * transaction has ended; it must still be stored, or every message costs WhatsApp another query.
 */

const PHONE = '4915100000401'
const FRIEND = '4915100000402'
let world: SessionsWorld
let api: Client

beforeAll(async () => {
	world = await startSessionsWorld()
	api = await world.tenant()
	await pairedSession(world, api, PHONE)
})
afterAll(() => world?.close())

/** The privacy-token issuances the companion has asked WhatsApp for so far. */
const issuances = () => world.standIn.core.log.list('iq').filter((e) => e.xmlns === 'privacy' && e.iqType === 'set' && e.child === 'tokens')

describe('privacy tokens', () => {
	it('are issued to a contact once, not with every message', async () => {
		for (const text of ['first', 'second', 'third']) {
			const { status, body } = await api.post(`/chats/${FRIEND}@s.whatsapp.net/messages`, { text })
			expect(status).toBe(202)
			// Each message reaches the phone before the next goes: the issuance after the first has long
			// been answered when the second is sent, and one after the second would be asked before the third.
			expect((await world.standIn.waitForSent((m) => m.id === body.messageId)).text).toBe(text)
		}
		expect(issuances()).toHaveLength(1)
	})
})
