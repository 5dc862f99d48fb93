import {
	BufferJSON,
	initAuthCreds,
	proto,
	type AuthenticationCreds,
	type AuthenticationState,
	type SignalDataSet,
	type SignalDataTypeMap,
	type SignalKeyStore,
} from '@whiskeysockets/baileys'
import { and, eq, inArray, sql } from 'drizzle-orm'
import type { Db, Tx } from '../db/client'
import { sessionAuth, sessionAuthKeys } from '../db/schema'
import type { Cipher } from '../lib/crypto'
import { rememberKnownKeys } from './known-keys'

/** A write from a runner whose lease was taken over: its view of the session is stale. */
export class StaleOwnerError extends Error {
	override name = 'StaleOwnerError'
	constructor(sessionId: string, fence: number) {
		super(`session ${sessionId}: auth write with fence ${fence} refused, a newer owner holds it`)
	}
}

export interface PostgresAuthStateOptions {
	db: Db
	sessionId: string
	cipher: Cipher
	/**
	 * Fencing token of the lease this runner holds. Every write carries it; a write whose
	 * token is lower than the stored one is refused, so a stale owner cannot corrupt Signal state.
	 */
	fence?: number
}

export interface PostgresAuthState {
	state: AuthenticationState
	/** True when no creds were stored: the session has to pair (QR or pairing code). */
	isNew: boolean
	/** Persists the whole creds object (call on every `creds.update`). */
	saveCreds(): Promise<void>
}

const credsAad = (sessionId: string) => `${sessionId}:creds`
const keyAad = (sessionId: string, type: string, id: string) => `${sessionId}:${type}:${id}`

const encode = (value: unknown) => JSON.stringify(value, BufferJSON.replacer)
const decode = (buffer: Buffer) => JSON.parse(buffer.toString('utf8'), BufferJSON.reviver)

/**
 * Baileys auth state (creds + signal keys) in Postgres, AES-256-GCM encrypted at rest.
 * A creds row is written before anything else, so key writes always have a fence to check against.
 * Decryption failures throw: a wrong ENCRYPTION_KEY must stop the session, never re-pair it.
 */
export async function loadPostgresAuthState({ db, sessionId, cipher, fence = 0 }: PostgresAuthStateOptions): Promise<PostgresAuthState> {
	// Reading claims the row for `fence`: from here on a previous owner's writes are refused, so the
	// creds read now cannot be overwritten from a state this owner never saw.
	const [row] = await db
		.update(sessionAuth)
		.set({ fence })
		.where(and(eq(sessionAuth.sessionId, sessionId), sql`${sessionAuth.fence} <= ${fence}`))
		.returning({ creds: sessionAuth.creds })
	if (!row) {
		const [newer] = await db.select({ fence: sessionAuth.fence }).from(sessionAuth).where(eq(sessionAuth.sessionId, sessionId))
		if (newer) throw new StaleOwnerError(sessionId, fence)
	}
	const isNew = !row
	const creds: AuthenticationCreds = row ? decode(cipher.decrypt(row.creds, credsAad(sessionId))) : initAuthCreds()

	/** Claims the creds row for `fence` inside `tx`; throws when a newer owner holds it. */
	async function checkFence(tx: Tx) {
		const claimed = await tx
			.update(sessionAuth)
			.set({ fence })
			.where(and(eq(sessionAuth.sessionId, sessionId), sql`${sessionAuth.fence} <= ${fence}`))
			.returning({ fence: sessionAuth.fence })
		if (claimed.length === 0) throw new StaleOwnerError(sessionId, fence)
	}

	async function saveCreds() {
		const blob = cipher.encrypt(encode(creds), credsAad(sessionId))
		const written = await db
			.insert(sessionAuth)
			.values({ sessionId, creds: blob, fence })
			.onConflictDoUpdate({
				target: sessionAuth.sessionId,
				set: { creds: blob, fence, updatedAt: sql`now()` },
				setWhere: sql`${sessionAuth.fence} <= ${fence}`,
			})
			.returning({ fence: sessionAuth.fence })
		if (written.length === 0) throw new StaleOwnerError(sessionId, fence)
	}

	const keys: SignalKeyStore = {
		async get<T extends keyof SignalDataTypeMap>(type: T, ids: string[]) {
			const result: { [id: string]: SignalDataTypeMap[T] } = {}
			if (ids.length === 0) return result
			const rows = await db
				.select({ keyId: sessionAuthKeys.keyId, value: sessionAuthKeys.value })
				.from(sessionAuthKeys)
				.where(and(eq(sessionAuthKeys.sessionId, sessionId), eq(sessionAuthKeys.type, type), inArray(sessionAuthKeys.keyId, ids)))
			for (const r of rows) {
				let value = decode(cipher.decrypt(r.value, keyAad(sessionId, type, r.keyId)))
				if (type === 'app-state-sync-key') value = proto.Message.AppStateSyncKeyData.fromObject(value)
				result[r.keyId] = value
			}
			return result
		},
		// Baileys commits a whole transaction's writes in one set() spanning several types: apply it
		// atomically. Upserts and deletes by primary key make a retried batch idempotent.
		async set(data: SignalDataSet) {
			const upserts: (typeof sessionAuthKeys.$inferInsert)[] = []
			const deletes: { type: string; ids: string[] }[] = []
			for (const [type, entries] of Object.entries(data)) {
				const gone: string[] = []
				for (const [id, value] of Object.entries(entries ?? {})) {
					if (value === null || value === undefined) gone.push(id)
					else upserts.push({ sessionId, type, keyId: id, value: cipher.encrypt(encode(value), keyAad(sessionId, type, id)) })
				}
				if (gone.length) deletes.push({ type, ids: gone })
			}
			if (upserts.length === 0 && deletes.length === 0) return
			await db.transaction(async (tx) => {
				await checkFence(tx)
				for (const { type, ids } of deletes)
					await tx
						.delete(sessionAuthKeys)
						.where(and(eq(sessionAuthKeys.sessionId, sessionId), eq(sessionAuthKeys.type, type), inArray(sessionAuthKeys.keyId, ids)))
				for (let i = 0; i < upserts.length; i += 500)
					await tx
						.insert(sessionAuthKeys)
						.values(upserts.slice(i, i + 500))
						.onConflictDoUpdate({
							target: [sessionAuthKeys.sessionId, sessionAuthKeys.type, sessionAuthKeys.keyId],
							set: { value: sql`excluded.value` },
						})
			})
		},
		async clear() {
			await db.delete(sessionAuthKeys).where(eq(sessionAuthKeys.sessionId, sessionId))
		},
	}

	if (isNew) await saveCreds()
	return { state: { creds, keys: rememberKnownKeys(keys) }, isNew, saveCreds }
}

/** Forgets a session's pairing (after a logout): creds and every key. */
export async function deleteAuthState(db: Db, sessionId: string): Promise<void> {
	await db.transaction(async (tx) => {
		// Creds first: deleting the row waits for a key batch in flight (it holds the row through its
		// fence check) and makes every later batch fail that check. The keys statement then sees the
		// in-flight batch committed and deletes it too; in the other order its keys would survive.
		await tx.delete(sessionAuth).where(eq(sessionAuth.sessionId, sessionId))
		await tx.delete(sessionAuthKeys).where(eq(sessionAuthKeys.sessionId, sessionId))
	})
}
