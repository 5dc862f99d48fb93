import { afterAll, beforeAll, describe, expect, it } from 'bun:test'
import { sendWhenConnected } from '../helpers/conversations'
import { type Client, pairedSession, type SessionsWorld, startSessionsWorld } from '../helpers/sessions'

/**
 * A socket that reconnects keeps its Signal sessions with the contacts: its next message to one
 * goes on the session they share, without asking WhatsApp for the contact's keys again. Each such
 * fetch would open a new session (and use up one of the contact's one-time prekeys).
 */

const PHONE = '4915100000601'
const FRIEND = '4915100000602'
let world: SessionsWorld
let api: Client
let sessionId: string

beforeAll(async () => {
	world = await startSessionsWorld()
	api = await world.tenant()
	sessionId = (await pairedSession(world, api, PHONE)).id
})
afterAll(() => world?.close())

/** The key fetches (`encrypt` queries for a bundle) the companion has made so far. */
const keyFetches = () => world.standIn.core.log.list('iq').filter((e) => e.xmlns === 'encrypt' && e.iqType === 'get' && e.child === 'key').length

async function send(text: string): Promise<void> {
	const id = await sendWhenConnected({ api, sessionId }, FRIEND, text)
	expect((await world.standIn.waitForSent((m) => m.id === id && !m.undecryptedBy)).text).toBe(text)
}

describe('a reconnected socket', () => {
	it("writes to a contact on the session they had, asking WhatsApp for none of the contact's keys", async () => {
		await send('before')
		const fetched = keyFetches()
		const after = world.events.events.length
		expect(world.standIn.kick(PHONE, 'close')).toBe(1)
		await world.events.waitFor('session.status.connected', sessionId, { after })
		await send('after the reconnect')
		await send('and on')
		expect(keyFetches()).toBe(fetched)
	})
})
