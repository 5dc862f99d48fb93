import { afterAll, beforeAll, describe, expect, it } from 'bun:test'
import { Curve, proto } from '@whiskeysockets/baileys'
import { eq } from 'drizzle-orm'
import type { Database } from '../../src/db/client'
import { sessionAuth, sessionAuthKeys, sessions, tenants } from '../../src/db/schema'
import { createCipher, DecryptionError } from '../../src/lib/crypto'
import { deleteAuthState, loadPostgresAuthState, StaleOwnerError } from '../../src/whatsapp/auth-state'
import { openTestDatabase, type OpenTestDatabase } from '../helpers/database'
import { until } from '../helpers/until'
import { rejectionOf } from '../helpers/rejection'

const cipher = createCipher(Buffer.alloc(32, 3))
let testDb: OpenTestDatabase
let database: Database

beforeAll(async () => {
	testDb = await openTestDatabase(4)
	database = testDb.database
})
afterAll(() => testDb.close())

async function newSession(): Promise<string> {
	const [tenant] = await database.db.insert(tenants).values({ name: 't' }).returning()
	const [session] = await database.db.insert(sessions).values({ tenantId: tenant!.id, name: 's' }).returning()
	return session!.id
}

const load = (sessionId: string, fence = 0, c = cipher) => loadPostgresAuthState({ db: database.db, sessionId, cipher: c, fence })

describe('Postgres auth state', () => {
	it('creates fresh creds once and reads the same creds back later', async () => {
		const sessionId = await newSession()
		const first = await load(sessionId)
		expect(first.isNew).toBe(true)
		first.state.creds.me = { id: '15550001111:3@s.whatsapp.net', name: 'Ana' }
		await first.saveCreds()
		const again = await load(sessionId)
		expect(again.isNew).toBe(false)
		expect(again.state.creds.me?.id).toBe('15550001111:3@s.whatsapp.net')
		// Buffers survive the JSON round trip (BufferJSON).
		expect(Buffer.isBuffer(again.state.creds.noiseKey.private)).toBe(true)
		expect(Buffer.compare(again.state.creds.noiseKey.private, first.state.creds.noiseKey.private)).toBe(0)
	})

	it('stores nothing readable at rest', async () => {
		const sessionId = await newSession()
		const { state, saveCreds } = await load(sessionId)
		state.creds.me = { id: 'visible-marker@s.whatsapp.net' }
		await saveCreds()
		await state.keys.set({ 'lid-mapping': { 'visible-key': 'visible-value' } })
		const [row] = await database.db.select().from(sessionAuth).where(eq(sessionAuth.sessionId, sessionId))
		const [key] = await database.db.select().from(sessionAuthKeys).where(eq(sessionAuthKeys.sessionId, sessionId))
		expect(row!.creds.toString('latin1')).not.toContain('visible-marker')
		expect(key!.value.toString('latin1')).not.toContain('visible-value')
	})

	it('sets several key types in one batch, reads them back typed, and deletes on null', async () => {
		const sessionId = await newSession()
		const { state } = await load(sessionId)
		const pair = Curve.generateKeyPair()
		await state.keys.set({
			'pre-key': { '1': pair, '2': Curve.generateKeyPair() },
			session: { 'a.0': Buffer.from('signal-session') },
			'app-state-sync-key': { AAAA: { keyData: Buffer.from('k'), timestamp: 5 } },
		})
		const preKeys = await state.keys.get('pre-key', ['1', '2', '3'])
		expect(Object.keys(preKeys).sort()).toEqual(['1', '2'])
		expect(Buffer.compare(preKeys['1']!.public, pair.public)).toBe(0)
		const sync = await state.keys.get('app-state-sync-key', ['AAAA'])
		expect(sync.AAAA).toBeInstanceOf(proto.Message.AppStateSyncKeyData)

		await state.keys.set({ 'pre-key': { '1': null }, session: { 'a.0': null } })
		expect(Object.keys(await state.keys.get('pre-key', ['1', '2']))).toEqual(['2'])
		expect(await state.keys.get('session', ['a.0'])).toEqual({})
	})

	it('applies a repeated batch idempotently', async () => {
		const sessionId = await newSession()
		const { state } = await load(sessionId)
		const batch = { 'sender-key-memory': { g1: { 'a@s.whatsapp.net': true } } }
		await state.keys.set(batch)
		await state.keys.set(batch)
		expect(await state.keys.get('sender-key-memory', ['g1'])).toEqual(batch['sender-key-memory'])
	})

	it('applies nothing of a batch that fails part-way', async () => {
		const sessionId = await newSession()
		const { state } = await load(sessionId)
		await state.keys.set({ session: { keep: Buffer.from('old') } })
		// A key id Postgres rejects (NUL byte) fails the insert after the delete of `keep` ran.
		expect(await rejectionOf(state.keys.set({ session: { keep: null, 'bad\u0000id': Buffer.from('x') } }))).toBeInstanceOf(Error)
		expect(Object.keys(await state.keys.get('session', ['keep']))).toEqual(['keep'])
	})

	it('refuses to load creds under a different ENCRYPTION_KEY instead of starting over', async () => {
		const sessionId = await newSession()
		await load(sessionId)
		const other = createCipher(Buffer.alloc(32, 9))
		expect(await rejectionOf(load(sessionId, 0, other))).toBeInstanceOf(DecryptionError)
		// The stored creds are untouched: the right key still opens them.
		expect((await load(sessionId)).isNew).toBe(false)
	})

	it('refuses writes from an owner whose fence is older than the stored one', async () => {
		const sessionId = await newSession()
		const stale = await load(sessionId, 1)
		const current = await load(sessionId, 2)
		await current.state.keys.set({ session: { x: Buffer.from('new') } })
		expect(await rejectionOf(stale.state.keys.set({ session: { x: Buffer.from('old') } }))).toBeInstanceOf(StaleOwnerError)
		expect(await rejectionOf(stale.saveCreds())).toBeInstanceOf(StaleOwnerError)
		const x = await current.state.keys.get('session', ['x'])
		expect(Buffer.from(x.x!).toString()).toBe('new')
	})

	it('claims the stored state for its fence on reading: the previous owner’s writes are refused from then on, and it cannot read again', async () => {
		const sessionId = await newSession()
		const previous = await load(sessionId, 1)
		await previous.state.keys.set({ session: { x: Buffer.from('before') } })
		const next = await load(sessionId, 2)
		// The next owner has written nothing yet; its read alone fenced the previous one off.
		expect(await rejectionOf(previous.state.keys.set({ session: { x: Buffer.from('late') } }))).toBeInstanceOf(StaleOwnerError)
		expect(await rejectionOf(previous.saveCreds())).toBeInstanceOf(StaleOwnerError)
		expect(await rejectionOf(load(sessionId, 1))).toBeInstanceOf(StaleOwnerError)
		expect(Buffer.from((await next.state.keys.get('session', ['x'])).x!).toString()).toBe('before')
	})

	it('deletes creds and keys on logout', async () => {
		const sessionId = await newSession()
		const { state } = await load(sessionId)
		await state.keys.set({ session: { x: Buffer.from('1') } })
		await deleteAuthState(database.db, sessionId)
		expect(await database.db.select().from(sessionAuthKeys).where(eq(sessionAuthKeys.sessionId, sessionId))).toEqual([])
		expect((await load(sessionId)).isNew).toBe(true)
	})

	it('a key batch in flight while the session is deleted leaves no key behind', async () => {
		const sessionId = await newSession()
		const { state } = await load(sessionId)
		let release!: () => void
		const held = new Promise<void>((resolve) => (release = resolve))
		let fenceChecked!: () => void
		const checked = new Promise<void>((resolve) => (fenceChecked = resolve))
		// What set() does, paused between its fence check (which holds the creds row) and its insert.
		const batch = database.db.transaction(async (tx) => {
			await tx.update(sessionAuth).set({ fence: 0 }).where(eq(sessionAuth.sessionId, sessionId))
			fenceChecked()
			await held
			await tx.insert(sessionAuthKeys).values({ sessionId, type: 'session', keyId: 'late', value: Buffer.from('x') })
		})
		await checked
		const deleting = deleteAuthState(database.db, sessionId)
		await waitUntilBlocked()
		release()
		await batch
		await deleting
		expect(await database.db.select().from(sessionAuthKeys).where(eq(sessionAuthKeys.sessionId, sessionId))).toEqual([])
		// And a batch that starts afterwards is refused by the fence: the row it checks is gone.
		expect(await rejectionOf(state.keys.set({ session: { later: Buffer.from('y') } }))).toBeInstanceOf(StaleOwnerError)
	})
})

describe('what the key store remembers', () => {
	// The store is the only writer of its session's keys: a row written behind its back shows what
	// is answered from memory, without a query.
	const writeBehindItsBack = async (sessionId: string, type: string, keyId: string, value: unknown) => {
		const { state } = await load(sessionId)
		await state.keys.set({ [type]: { [keyId]: value } })
	}

	it('answers a key found missing as missing without asking PostgreSQL again', async () => {
		const sessionId = await newSession()
		const { state } = await load(sessionId)
		expect(await state.keys.get('device-list', ['15550001111'])).toEqual({})
		await writeBehindItsBack(sessionId, 'device-list', '15550001111', ['0', '3'])
		expect(await state.keys.get('device-list', ['15550001111'])).toEqual({})
		// A fresh load (another socket, another owner) asks again.
		expect(await (await load(sessionId)).state.keys.get('device-list', ['15550001111'])).toEqual({ '15550001111': ['0', '3'] })
	})

	it('finds a key once the store writes it, and misses it again once the store deletes it', async () => {
		const sessionId = await newSession()
		const { state } = await load(sessionId)
		expect(await state.keys.get('lid-mapping', ['15550002222'])).toEqual({})
		await state.keys.set({ 'lid-mapping': { '15550002222': '99887766@lid' } })
		expect(await state.keys.get('lid-mapping', ['15550002222'])).toEqual({ '15550002222': '99887766@lid' })
		await state.keys.set({ 'lid-mapping': { '15550002222': null } })
		await writeBehindItsBack(sessionId, 'lid-mapping', '15550002222', 'stale@lid')
		expect(await state.keys.get('lid-mapping', ['15550002222'])).toEqual({})
	})

	it('leaves the other keys of a lookup to PostgreSQL', async () => {
		const sessionId = await newSession()
		const { state } = await load(sessionId)
		expect(await state.keys.get('lid-mapping', ['a'])).toEqual({})
		await writeBehindItsBack(sessionId, 'lid-mapping', 'b', 'b@lid')
		expect(await state.keys.get('lid-mapping', ['a', 'b'])).toEqual({ b: 'b@lid' })
	})

	it('does not write again the text a key already holds', async () => {
		const sessionId = await newSession()
		const { state } = await load(sessionId)
		await state.keys.set({ 'lid-mapping': { '15550003333': '11223344' } })
		await writeBehindItsBack(sessionId, 'lid-mapping', '15550003333', '55667788')
		await state.keys.set({ 'lid-mapping': { '15550003333': '11223344', '11223344_reverse': '15550003333' } })
		const stored = await (await load(sessionId)).state.keys.get('lid-mapping', ['15550003333', '11223344_reverse'])
		expect(stored).toEqual({ '15550003333': '55667788', '11223344_reverse': '15550003333' })
	})
})

/** Resolves once some statement of this database waits for a row lock. */
async function waitUntilBlocked() {
	await until(
		async () => (await database.sql!`select 1 from pg_stat_activity where datname = current_database() and wait_event_type = 'Lock'`).length > 0,
		'a statement waiting for a row lock',
	)
}
