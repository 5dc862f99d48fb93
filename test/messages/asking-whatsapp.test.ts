import { afterAll, beforeAll, describe, expect, it } from 'bun:test'
import { sendDecrypted } from '../helpers/conversations'
import { type Client, pairedSession, type SessionsWorld, startSessionsWorld } from '../helpers/sessions'

/**
 * What a session asks WhatsApp, it asks once, as WhatsApp Web does: its privacy token to a contact
 * once a week, a contact's keys when it has no session with the contact. Every needless query
 * costs WhatsApp's servers, and a key fetch uses up one of the contact's prekeys.
 */

const PHONE = '4915100000401'
const FRIEND = '4915100000402'
const OTHER_FRIEND = '4915100000403'
let world: SessionsWorld
let api: Client
let sessionId: string

beforeAll(async () => {
	world = await startSessionsWorld()
	api = await world.tenant()
	sessionId = (await pairedSession(world, api, PHONE)).id
})
afterAll(() => world?.close())

/** The companion's queries to WhatsApp so far of one namespace, type and first child. */
const queries = (xmlns: string, iqType: string, child: string) =>
	world.standIn.core.log.list('iq').filter((e) => e.xmlns === xmlns && e.iqType === iqType && e.child === child).length

const send = (contact: string, text: string) => sendDecrypted(world.standIn, { api, sessionId }, contact, text)

describe('privacy tokens', () => {
	// After a message to a contact, the session issues the contact its token and notes when; the note
	// is written after the send's key-store transaction has ended, and must be stored all the same.
	it('are issued to a contact once, not with every message', async () => {
		// Each message reaches the phone before the next goes: the issuance after the first has long
		// been answered when the second is sent, and one after the second would be asked before the third.
		for (const text of ['first', 'second', 'third']) await send(FRIEND, text)
		expect(queries('privacy', 'set', 'tokens')).toBe(1)
	})
})

describe('a reconnected socket', () => {
	it("writes to a contact on the session they had, asking WhatsApp for none of the contact's keys", async () => {
		await send(OTHER_FRIEND, 'before')
		const fetched = queries('encrypt', 'get', 'key')
		const after = world.events.events.length
		expect(world.standIn.kick(PHONE, 'close')).toBe(1)
		await world.events.waitFor('session.status.connected', sessionId, { after })
		await send(OTHER_FRIEND, 'after the reconnect')
		await send(OTHER_FRIEND, 'and on')
		expect(queries('encrypt', 'get', 'key')).toBe(fetched)
	})
})
