import { afterAll, beforeAll, describe, expect, it } from 'bun:test'
import { and, eq } from 'drizzle-orm'
import postgres from 'postgres'
import { type Database, openPostgres } from '../../src/db/client'
import { sessionAuth, sessionMessages } from '../../src/db/schema'
import { createCipher } from '../../src/lib/crypto'
import { PG_ADMIN_URL } from '../helpers/database'
import { databaseProxy, viaProxy } from '../helpers/database-proxy'
import { until } from '../helpers/until'
import { startHarness, type RunnerHarness, type SessionRef } from './harness'

/**
 * A message that arrives while the runner's database is away. Baileys cannot read or write the
 * session's keys, and would answer the message with an error ack, after which WhatsApp never
 * delivers it again. The runner answers nothing instead and ends the socket; once the database is
 * back it logs in with the keys as stored, and WhatsApp delivers the message again. A database that
 * stops answering without closing anything (a paused host) counts as away after WA_STORE_TIMEOUT_MS.
 */

const ACCOUNT = '15556200001'
const DEVICE = `${ACCOUNT}:1@s.whatsapp.net`
const ALICE = '15556200101'
/** The runner's connections, told apart from the harness' own (which stay up) by this name. */
const RUNNER_POOL = 'switchboard-runner-outage'

let h: RunnerHarness
let ref: SessionRef
let proxy: ReturnType<typeof databaseProxy>
let runnerDb: Database

beforeAll(async () => {
	h = await startHarness()
	proxy = databaseProxy(new URL(PG_ADMIN_URL))
	runnerDb = openPostgres({ url: viaProxy(h.config.databaseUrl!, proxy.port), max: 8, applicationName: RUNNER_POOL })
	await h.stopRunner()
	// Room for many attempts while the database is away (each fails to load the credentials), and a
	// frozen database given up on after a second.
	await h.startRunner({ WA_RECONNECT_MAX_ATTEMPTS: '200', WA_STORE_TIMEOUT_MS: '1000' }, { database: runnerDb })
	ref = await h.createSession()
	await h.pairByQr(ref, ACCOUNT)
	await h.waitForEvent(ref, 'session.history.sync', { where: (e) => e.data.syncType === 'INITIAL_BOOTSTRAP' && !!e.data.part })
	// The stored creds must say the first sync is done: creds read back without it make Baileys hold
	// a new socket's events for 20 s, waiting for a history sync that does not come again.
	const cipher = createCipher(h.config.encryptionKey)
	await until(async () => {
		const [row] = await h.database.db.select({ creds: sessionAuth.creds }).from(sessionAuth).where(eq(sessionAuth.sessionId, ref.sessionId))
		return row && JSON.parse(cipher.decrypt(row.creds, `${ref.sessionId}:creds`).toString('utf8')).accountSyncCounter > 0
	}, 'the first sync recorded in the stored creds')
}, 30_000)
afterAll(async () => {
	proxy?.restore()
	await h?.close()
	await runnerDb?.close()
	proxy?.stop()
}, 30_000)

const rows = async (id: string) =>
	h.database.db
		.select()
		.from(sessionMessages)
		.where(and(eq(sessionMessages.sessionId, ref.sessionId), eq(sessionMessages.messageId, id)))

describe("a message arriving while the runner's database is away", () => {
	it('is not answered, and is stored once the database is back, once', async () => {
		const id = '3A0DB0000000000000000001'
		const after = h.events.length
		const admin = postgres(PG_ADMIN_URL, { max: 1, onnotice: () => {} })
		await proxy.cut(async () => {
			await admin`select pg_terminate_backend(pid) from pg_stat_activity where application_name = ${RUNNER_POOL}`
		})
		await admin.end()
		await h.standIn.deliverEncrypted({ to: ACCOUNT, from: ALICE, text: 'while the database is away', id })
		const down = await h.waitForEvent(ref, 'session.status.disconnected', { after, where: (e) => e.data.reason === 'database_unavailable' })
		expect(down.data).toMatchObject({ status: 'reconnecting', message: expect.stringContaining('the database could not be reached') })
		// Neither a receipt nor an error ack: WhatsApp still holds the message for this device.
		expect(h.standIn.device(DEVICE).unanswered).toContain(id)
		expect(await rows(id)).toHaveLength(0)

		proxy.restore()
		await h.waitForEvent(ref, 'session.status.connected', { after })
		const [row, ...more] = await until(async () => {
			const found = await rows(id)
			return found.length > 0 && found
		}, `message ${id} stored`)
		expect(row).toMatchObject({ text: 'while the database is away', fromMe: false, chatJid: `${ALICE}@s.whatsapp.net` })
		expect(more).toHaveLength(0)
		await until(async () => !h.standIn.device(DEVICE).unanswered.includes(id), 'the message answered')
	}, 60_000)

	it('is not answered while the database is frozen either: the key store gives up after WA_STORE_TIMEOUT_MS', async () => {
		const id = '3A0DB0000000000000000002'
		const after = h.events.length
		proxy.freeze()
		try {
			await h.standIn.deliverEncrypted({ to: ACCOUNT, from: ALICE, text: 'while the database is frozen', id })
			const down = await h.waitForEvent(ref, 'session.status.disconnected', { after, where: (e) => e.data.reason === 'database_unavailable' })
			expect(down.data.message).toContain('timed out after 1000 ms')
			expect(h.standIn.device(DEVICE).unanswered).toContain(id)
		} finally {
			proxy.restore()
		}
		await h.waitForEvent(ref, 'session.status.connected', { after })
		const stored = await until(async () => {
			const found = await rows(id)
			return found.length > 0 && found
		}, `message ${id} stored`)
		expect(stored).toHaveLength(1)
		await until(async () => !h.standIn.device(DEVICE).unanswered.includes(id), 'the message answered')
	}, 60_000)
})
