import { and, eq } from 'drizzle-orm'
import type { Db } from '../db/client'
import { mediaBlobs } from '../db/schema'
import type { MediaStore, StoredObject } from './store'

/**
 * Keeps `object` as the tenant's copy of its content, or, when the tenant has that content
 * already, deletes it and answers the key of the copy it has: each tenant stores each file once.
 */
export async function keepBlob(db: Db, store: MediaStore, tenantId: string, object: StoredObject): Promise<string> {
	const [kept] = await db
		.insert(mediaBlobs)
		.values({ tenantId, sha256: object.sha256, storageKey: object.key, size: object.size })
		.onConflictDoNothing()
		.returning({ key: mediaBlobs.storageKey })
	if (kept) return kept.key
	await store.delete(object.key)
	const [existing] = await db
		.select({ key: mediaBlobs.storageKey })
		.from(mediaBlobs)
		.where(and(eq(mediaBlobs.tenantId, tenantId), eq(mediaBlobs.sha256, object.sha256)))
	if (!existing) throw new Error(`media blob ${object.sha256} vanished while being kept`)
	return existing.key
}

/** The tenant's stored object with this content, if it has one. */
export async function blobOf(db: Db, tenantId: string, sha256: string): Promise<{ storageKey: string; size: number } | undefined> {
	const [row] = await db
		.select({ storageKey: mediaBlobs.storageKey, size: mediaBlobs.size })
		.from(mediaBlobs)
		.where(and(eq(mediaBlobs.tenantId, tenantId), eq(mediaBlobs.sha256, sha256)))
	return row
}
