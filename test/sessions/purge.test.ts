import { afterAll, beforeAll, describe, expect, it } from 'bun:test'
import postgres from 'postgres'
import { domainEvent } from '../../src/core/catalogue'
import { createLogger } from '../../src/logger'
import { startServer } from '../../src/server'
import { createVerifiedUser, expectError } from '../helpers/accounts'
import { startTestApp, type TestApp } from '../helpers/app'
import { clientFor, type ApiSession, type Client } from '../helpers/sessions'
import { until } from '../helpers/until'

// Deleting a session with many messages: the API answers at once, the rows go in the background
// a batch per transaction (small batches here, so the purge is seen half-way), and other sessions
// are written meanwhile. No runner: the device is never unlinked, so the row itself stays.
const CHAT = '4915100000009@s.whatsapp.net'
const ROWS = 3_000
const settings = { ROLES: 'api,consumer', SESSION_PURGE_BATCH_ROWS: '100', SESSION_PURGE_PAUSE_MS: '20' }

let app: TestApp
let alice: Client
let sql: postgres.Sql

beforeAll(async () => {
	app = await startTestApp(settings)
	alice = clientFor(app, await createVerifiedUser(app))
	sql = postgres(app.database.url, { max: 2, onnotice: () => {} })
})
afterAll(async () => {
	await sql?.end({ timeout: 5 })
	await app?.close()
})

/** A session of alice's holding ROWS messages in one chat, a chat and a contact. */
async function filledSession(): Promise<string> {
	const { body } = await alice.post<ApiSession>('/sessions', {})
	await sql`insert into session_chats (session_id, jid, last_message_at) values (${body.id}, ${CHAT}, now())`
	await sql`insert into session_contacts (session_id, jid, name) values (${body.id}, ${CHAT}, 'Bob')`
	await sql`insert into session_messages (session_id, chat_jid, message_id, from_me, timestamp, type, kind, text)
		select ${body.id}, ${CHAT}, 'M' || g, false, now(), 'conversation', 'text', 'hello ' || g from generate_series(1, ${ROWS}) g`
	return body.id
}

const messagesLeft = async (sessionId: string) => Number((await sql`select count(*) from session_messages where session_id = ${sessionId}`)[0]!.count)
const rowsLeft = async (sessionId: string) =>
	Number(
		(
			await sql`select (select count(*) from session_messages where session_id = ${sessionId}) + (select count(*) from session_chats where session_id = ${sessionId})
				+ (select count(*) from session_contacts where session_id = ${sessionId}) as n`
		)[0]!.n,
	)
/** Waits until the purge has deleted some of the session's messages but not all: batches commit one by one. */
const halfway = (sessionId: string) =>
	until(async () => {
		const left = await messagesLeft(sessionId)
		return left > 0 && left < ROWS && left
	}, 'the purge to be half-way')

describe('deleting a session with many messages', () => {
	it('answers at once, hides the session, and deletes its rows in batches while other sessions keep writing', async () => {
		const doomed = await filledSession()
		const { body: other } = await alice.post<ApiSession>('/sessions', {})

		const started = performance.now()
		expect((await alice.delete(`/sessions/${doomed}`)).status).toBe(202)
		expect(performance.now() - started).toBeLessThan(2_000)
		await expectError(await alice.fetch(`/sessions/${doomed}`), 404, 'NOT_FOUND')
		await expectError(await alice.fetch(`/chats?sessionId=${doomed}`), 404, 'NOT_FOUND')

		await halfway(doomed)
		await app.server.bus.publish([
			domainEvent(
				'session.messages.upsert',
				{ tenantId: alice.user.user.tenantId, sessionId: other.id },
				{
					type: 'notify',
					messages: [
						{
							key: { remoteJid: CHAT, fromMe: false, id: 'OTHER1' },
							timestamp: 1_800_000_000,
							type: 'conversation',
							text: 'still here',
							content: { conversation: 'still here' },
						},
					],
				},
			),
		])
		await until(
			async () => (await alice.get(`/chats/${CHAT}/messages?sessionId=${other.id}`)).body.items?.some((m: { id: string }) => m.id === 'OTHER1'),
			"the other session's message to be written",
		)
		expect(await messagesLeft(doomed)).toBeGreaterThan(0)

		await until(async () => (await rowsLeft(doomed)) === 0, "the deleted session's rows to be gone")
	})

	it('finishes after a restart in the middle of it', async () => {
		const doomed = await filledSession()
		expect((await alice.delete(`/sessions/${doomed}`)).status).toBe(202)
		await halfway(doomed)
		await app.server.stop()
		expect(await messagesLeft(doomed)).toBeGreaterThan(0)

		// The same process started again on the same database and Redis keys.
		app.server = await startServer(app.config, createLogger(app.config))
		await until(async () => (await rowsLeft(doomed)) === 0, "the deleted session's rows to be gone after the restart")
	})
})
