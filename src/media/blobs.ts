import { and, eq, sql } from 'drizzle-orm'
import type { Db } from '../db/client'
import { rowsOf } from '../db/projection/statements'
import { media, mediaBlobs } from '../db/schema'
import type { MediaStore, StoredObject } from './store'

/**
 * Keeps `object` as the tenant's copy of its content, or, when the tenant has that content
 * already, deletes it and answers the key of the copy it has: each tenant stores each file once.
 * Either way the kept object is marked used now, in the same statement that finds it, so the
 * collector cannot take it before the caller's row names it.
 */
export async function keepBlob(db: Db, store: MediaStore, tenantId: string, object: StoredObject): Promise<string> {
	const [kept] = await db
		.insert(mediaBlobs)
		.values({ tenantId, sha256: object.sha256, storageKey: object.key, size: object.size })
		.onConflictDoUpdate({ target: [mediaBlobs.tenantId, mediaBlobs.sha256], set: { usedAt: sql`now()` } })
		.returning({ key: mediaBlobs.storageKey })
	if (kept!.key !== object.key) await store.delete(object.key)
	return kept!.key
}

/**
 * Bytes of the tenant's files: each content its stored files name, once (a file received or
 * uploaded twice is stored once). A deleted file's bytes stop counting at once, before the
 * collector removes its object.
 */
export async function storedBytes(db: Db, tenantId: string): Promise<number> {
	const result = await db.execute(sql`
		select coalesce(sum(size), 0)::float8 as bytes from (
			select max(${media.size}) as size from ${media}
			where ${media.tenantId} = ${tenantId} and ${media.state} = 'stored' group by ${media.sha256}
		) contents`)
	return Number(rowsOf<{ bytes: number | string }>(result)[0]?.bytes ?? 0)
}

/** The tenant's stored object with this content, if it has one. */
export async function blobOf(db: Db, tenantId: string, sha256: string): Promise<{ storageKey: string; size: number } | undefined> {
	const [row] = await db
		.select({ storageKey: mediaBlobs.storageKey, size: mediaBlobs.size })
		.from(mediaBlobs)
		.where(and(eq(mediaBlobs.tenantId, tenantId), eq(mediaBlobs.sha256, sha256)))
	return row
}

/**
 * The tenant's stored object with this content, marked used now: for a file about to name an
 * object it did not store itself, so the collector cannot take the object in between.
 */
export async function useBlob(db: Db, tenantId: string, sha256: string): Promise<{ storageKey: string; size: number } | undefined> {
	const [row] = await db
		.update(mediaBlobs)
		.set({ usedAt: sql`now()` })
		.where(and(eq(mediaBlobs.tenantId, tenantId), eq(mediaBlobs.sha256, sha256)))
		.returning({ storageKey: mediaBlobs.storageKey, size: mediaBlobs.size })
	return row
}
