import { afterAll, beforeAll, describe, expect, it } from 'bun:test'
import { domainEvent, type Message } from '../../src/core/catalogue'
import { startTestApp, type TestApp } from '../helpers/app'
import { createVerifiedUser } from '../helpers/accounts'
import { clientFor, type ApiSession, type Client } from '../helpers/sessions'
import { until } from '../helpers/until'

// A group member WhatsApp shows by LID keeps their number hidden from an account that was never
// told it. Which number stands behind a LID is learnt per session (its mappings): another
// session's, least of all another tenant's, must never show through on this one's messages.
let app: TestApp
let alice: Client
let bob: Client
let aliceSession: ApiSession
let bobSession: ApiSession

const T0 = 1_767_225_600
const GROUP = '120363000000000077@g.us'
const HIDDEN = '90000000000077@lid'
const HIDDEN_PN = '15550777777@s.whatsapp.net'
const KNOWN = '90000000000078@lid'
const KNOWN_PN = '15550777778@s.whatsapp.net'

const fromMember = (id: string, participant: string, seconds: number): Message => ({
	key: { remoteJid: GROUP, fromMe: false, id, participant },
	timestamp: T0 + seconds,
	type: 'conversation',
	text: id,
	content: { conversation: id },
})

beforeAll(async () => {
	app = await startTestApp({ ROLES: 'api,consumer' })
	;[alice, bob] = await Promise.all([createVerifiedUser(app), createVerifiedUser(app)]).then((users) => users.map((u) => clientFor(app, u)))
	;[aliceSession, bobSession] = await Promise.all([alice.post<ApiSession>('/sessions', {}), bob.post<ApiSession>('/sessions', {})]).then((r) =>
		r.map((res) => res.body),
	)
	const meta = (client: Client, session: ApiSession) => ({ tenantId: client.user.user.tenantId, sessionId: session.id })
	await app.server.bus.publish([
		// Bob's account was told both members' numbers; Alice's only the second one's.
		domainEvent('session.history.sync', meta(bob, bobSession), {
			messages: [fromMember('B1', HIDDEN, 1), fromMember('B2', KNOWN, 2)],
			chats: [{ jid: GROUP, lastMessageAt: T0 + 2 }],
			contacts: [],
			lidPnMappings: [
				{ lid: HIDDEN, pn: HIDDEN_PN },
				{ lid: KNOWN, pn: KNOWN_PN },
			],
		}),
		domainEvent('session.history.sync', meta(alice, aliceSession), {
			messages: [fromMember('A1', HIDDEN, 1), fromMember('A2', KNOWN, 2)],
			chats: [{ jid: GROUP, lastMessageAt: T0 + 2 }],
			contacts: [],
			lidPnMappings: [{ lid: KNOWN, pn: KNOWN_PN }],
		}),
	])
	for (const client of [alice, bob])
		await until(async () => (await client.get(`/chats/${GROUP}/messages`)).body.items?.length === 2, 'the consumer to store both sessions’ messages')
})
afterAll(async () => {
	await app?.close()
})

describe('a group message from a member known by LID', () => {
	it('shows the number only where this session learnt it, never from another tenant’s session', async () => {
		const page = (await alice.get(`/chats/${GROUP}/messages`)).body.items as Record<string, unknown>[]
		const byId = Object.fromEntries(page.map((m) => [m.id, m]))
		expect(byId.A1).toMatchObject({ sender: HIDDEN, senderLid: HIDDEN, senderPn: null })
		expect(byId.A2).toMatchObject({ sender: KNOWN_PN, senderLid: KNOWN, senderPn: KNOWN_PN })
		expect(JSON.stringify(page)).not.toContain(HIDDEN_PN)
		// The session that was told shows it: the mapping is not simply ignored.
		const bobs = (await bob.get(`/chats/${GROUP}/messages`)).body.items as Record<string, unknown>[]
		expect(bobs.find((m) => m.id === 'B1')).toMatchObject({ sender: HIDDEN_PN, senderLid: HIDDEN, senderPn: HIDDEN_PN })
	})
})
