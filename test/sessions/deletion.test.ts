import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'bun:test'
import { eq, sql } from 'drizzle-orm'
import type { Database } from '../../src/db/client'
import { sessionAuth, sessions } from '../../src/db/schema'
import { applyEvents } from '../../src/db/projection'
import { ALICE, createSession, event, message, snapshot, type Meta } from '../events/fixtures'
import { openTestDatabase, type OpenTestDatabase } from '../helpers/database'

// What the consumer does with a session the API deleted (tombstoned): the data goes with
// `session.deleted`, the row and its creds only once the runner has logged out.
let testDb: OpenTestDatabase
let database: Database
let meta: Meta

beforeAll(async () => {
	testDb = await openTestDatabase(2)
	database = testDb.database
})
afterAll(() => testDb.close())
beforeEach(async () => {
	meta = await createSession(database.db)
	await applyEvents(database.db, [
		event(meta, 'session.history.sync', {
			messages: [message('M1')],
			chats: [{ jid: ALICE, name: 'Alice' }],
			contacts: [{ jid: ALICE, name: 'Alice' }],
			lidPnMappings: [],
		}),
	])
	await database.db.insert(sessionAuth).values({ sessionId: meta.sessionId, creds: Buffer.from('creds') })
})

const db = () => database.db
/** What DELETE /sessions/:id writes besides the outbox rows. */
const tombstone = () => db().update(sessions).set({ deletedAt: sql`now()`, desiredState: 'stopped' }).where(eq(sessions.id, meta.sessionId))
const loggedOut = (at = new Date()) => event(meta, 'session.status.disconnected', { status: 'logged_out', reason: 'logged_out' }, at)
const hasCreds = async () => (await db().select().from(sessionAuth).where(eq(sessionAuth.sessionId, meta.sessionId))).length > 0

describe('a session deleted through the API', () => {
	it('loses its chats, messages and contacts on session.deleted, but keeps the row and creds for the logout', async () => {
		await tombstone()
		await applyEvents(db(), [event(meta, 'session.deleted', {})])
		const after = await snapshot(db(), meta.sessionId)
		expect(after).toMatchObject({ messages: [], chats: [], contacts: [] })
		expect(after.session?.deletedAt).toBeInstanceOf(Date)
		expect(await hasCreds()).toBe(true)
	})

	it('takes nothing more in: a late message or chat is dropped', async () => {
		await tombstone()
		await applyEvents(db(), [event(meta, 'session.deleted', {})])
		const stats = await applyEvents(db(), [
			event(meta, 'session.messages.upsert', { type: 'notify', messages: [message('LATE')] }),
			event(meta, 'session.chats.upsert', { chats: [{ jid: ALICE, name: 'again' }] }),
		])
		expect(stats).toMatchObject({ dropped: 2, messages: 0, chats: 0 })
		expect(await snapshot(db(), meta.sessionId)).toMatchObject({ messages: [], chats: [] })
	})

	it('is removed with its creds once the runner reports the logout, in either order', async () => {
		await tombstone()
		await applyEvents(db(), [event(meta, 'session.deleted', {})])
		expect(await applyEvents(db(), [loggedOut()])).toMatchObject({ deletedSessions: 1 })
		expect((await snapshot(db(), meta.sessionId)).session).toBeNull()
		expect(await hasCreds()).toBe(false)

		meta = await createSession(db())
		await tombstone()
		await applyEvents(db(), [loggedOut()])
		expect((await snapshot(db(), meta.sessionId)).session).toBeNull()
		expect(await applyEvents(db(), [event(meta, 'session.deleted', {})])).toMatchObject({ deletedSessions: 0 })
	})

	it('is removed when the runner refuses the logout', async () => {
		await tombstone()
		await applyEvents(db(), [
			event(meta, 'session.command.failed', { commandId: Bun.randomUUIDv7(), command: 'session.logout', error: { code: 'x', message: 'y' } }),
		])
		expect((await snapshot(db(), meta.sessionId)).session).toBeNull()
	})

	it('outlives a logout from well before the deletion, retried late, so the runner still gets to unlink the device', async () => {
		await tombstone()
		await applyEvents(db(), [loggedOut(new Date(Date.now() - 60_000))])
		expect((await snapshot(db(), meta.sessionId)).session).not.toBeNull()
		expect(await hasCreds()).toBe(true)
	})

	it('a session.deleted for a session without a tombstone still removes it at once', async () => {
		expect(await applyEvents(db(), [event(meta, 'session.deleted', {})])).toMatchObject({ deletedSessions: 1 })
		expect((await snapshot(db(), meta.sessionId)).session).toBeNull()
	})
})
