import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'bun:test'
import { eq, sql } from 'drizzle-orm'
import type { Database } from '../../src/db/client'
import { sessionAuth, sessions } from '../../src/db/schema'
import { applyEvents } from '../../src/db/projection'
import { purgeStep } from '../../src/modules/sessions/purge'
import { ALICE, countMessages, createSession, event, historyBatches, message, snapshot, type Meta } from '../events/fixtures'
import { openTestDatabase, type OpenTestDatabase } from '../helpers/database'

// What the consumer and the purge do with a session the API deleted (tombstoned): the purge
// deletes its data a batch at a time, the consumer its creds once the runner has logged out, and
// the purge its row once both are done.
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
/** What the api role's purge does with the session, to the end. */
const purge = async (rows = 1_000) => {
	let step = await purgeStep(db(), meta.sessionId, rows)
	while (step === 'rows') step = await purgeStep(db(), meta.sessionId, rows)
	return step
}
const hasCreds = async () => (await db().select().from(sessionAuth).where(eq(sessionAuth.sessionId, meta.sessionId))).length > 0

describe('a session deleted through the API', () => {
	it('loses its chats, messages and contacts to the purge, but keeps the row and creds for the logout', async () => {
		await tombstone()
		await applyEvents(db(), [event(meta, 'session.deleted', {})])
		expect(await purge()).toBe('waiting')
		const after = await snapshot(db(), meta.sessionId)
		expect(after).toMatchObject({ messages: [], chats: [], contacts: [] })
		expect(after.session?.deletedAt).toBeInstanceOf(Date)
		expect(await hasCreds()).toBe(true)
	})

	it('takes nothing more in: a late message or chat is dropped', async () => {
		await tombstone()
		await applyEvents(db(), [event(meta, 'session.deleted', {})])
		await purge()
		const stats = await applyEvents(db(), [
			event(meta, 'session.messages.upsert', { type: 'notify', messages: [message('LATE')] }),
			event(meta, 'session.chats.upsert', { chats: [{ jid: ALICE, name: 'again' }] }),
		])
		expect(stats).toMatchObject({ dropped: 2, messages: 0, chats: 0 })
		expect(await snapshot(db(), meta.sessionId)).toMatchObject({ messages: [], chats: [] })
	})

	it('loses its creds when the runner reports the logout, and its row to the purge, in either order', async () => {
		await tombstone()
		await applyEvents(db(), [event(meta, 'session.deleted', {})])
		expect(await applyEvents(db(), [loggedOut()])).toMatchObject({ deletedSessions: 1 })
		expect(await hasCreds()).toBe(false)
		expect(await purge()).toBe('removed')
		expect((await snapshot(db(), meta.sessionId)).session).toBeNull()

		meta = await createSession(db())
		await tombstone()
		await applyEvents(db(), [loggedOut()])
		expect(await purge()).toBe('removed')
		expect((await snapshot(db(), meta.sessionId)).session).toBeNull()
		expect(await applyEvents(db(), [event(meta, 'session.deleted', {})])).toMatchObject({ deletedSessions: 0 })
	})

	it('counts a logout reported twice once', async () => {
		await tombstone()
		expect(await applyEvents(db(), [loggedOut()])).toMatchObject({ deletedSessions: 1 })
		expect(await applyEvents(db(), [loggedOut()])).toMatchObject({ deletedSessions: 0, dropped: 1 })
	})

	it('is removed when the runner refuses the logout', async () => {
		await tombstone()
		await applyEvents(db(), [
			event(meta, 'session.command.failed', { commandId: Bun.randomUUIDv7(), command: 'session.logout', error: { code: 'x', message: 'y' } }),
		])
		expect(await purge()).toBe('removed')
		expect((await snapshot(db(), meta.sessionId)).session).toBeNull()
	})

	it('outlives a logout from well before the deletion, retried late, so the runner still gets to unlink the device', async () => {
		await tombstone()
		await applyEvents(db(), [loggedOut(new Date(Date.now() - 60_000))])
		expect(await purge()).toBe('waiting')
		expect((await snapshot(db(), meta.sessionId)).session).not.toBeNull()
		expect(await hasCreds()).toBe(true)
	})

	it('a session.deleted for a session without a tombstone hides it at once, and the purge removes it', async () => {
		expect(await applyEvents(db(), [event(meta, 'session.deleted', {})])).toMatchObject({ deletedSessions: 1 })
		expect((await snapshot(db(), meta.sessionId)).session?.deletedAt).toBeInstanceOf(Date)
		expect(await hasCreds()).toBe(false)
		expect(await purge()).toBe('removed')
		expect((await snapshot(db(), meta.sessionId)).session).toBeNull()
	})
})

describe('the purge', () => {
	it('deletes a batch per transaction, the messages first, and the row last', async () => {
		await applyEvents(db(), historyBatches(meta, 250))
		await tombstone()
		await applyEvents(db(), [loggedOut()])
		// Where the batches got to, as the running purge keeps it between them.
		const cursor = new Map()
		expect(await purgeStep(db(), meta.sessionId, 100, cursor)).toBe('rows')
		expect(await countMessages(db(), meta.sessionId)).toBe(151)
		expect(await purgeStep(db(), meta.sessionId, 100, cursor)).toBe('rows')
		expect(await purgeStep(db(), meta.sessionId, 100, cursor)).toBe('rows')
		expect(await countMessages(db(), meta.sessionId)).toBe(0)
		expect((await snapshot(db(), meta.sessionId)).chats.length).toBeGreaterThan(0)
		expect(await purge(100)).toBe('removed')
		expect(await snapshot(db(), meta.sessionId)).toMatchObject({ session: null, messages: [], chats: [], contacts: [] })
	})

	it('leaves a session that another purge holds to it', async () => {
		await tombstone()
		await db().transaction(async (tx) => {
			await tx.select().from(sessions).where(eq(sessions.id, meta.sessionId)).for('no key update')
			expect(await purgeStep(db(), meta.sessionId, 100)).toBe('skipped')
		})
		expect(await purge()).toBe('waiting')
	})

	it('leaves a session that is not deleted alone', async () => {
		expect(await purgeStep(db(), meta.sessionId, 100)).toBe('skipped')
		expect(await countMessages(db(), meta.sessionId)).toBe(1)
	})
})
