import { and, eq } from 'drizzle-orm'
import type { Db } from '../db/client'
import { media } from '../db/schema'
import { blobOf } from './blobs'
import type { MediaStore } from './store'

/** A stored file of the tenant, by id, ready to stream: what a send refers to as `mediaId`. */
export async function openStoredFile(db: Db, store: MediaStore, tenantId: string, id: string) {
	const [row] = await db
		.select({
			mimetype: media.mimetype,
			fileName: media.fileName,
			sha256: media.sha256,
			state: media.state,
			seconds: media.seconds,
			width: media.width,
			height: media.height,
			waveform: media.waveform,
		})
		.from(media)
		.where(and(eq(media.id, id), eq(media.tenantId, tenantId)))
	if (row?.state !== 'stored' || !row.sha256) return null
	const blob = await blobOf(db, tenantId, row.sha256)
	if (!blob) return null
	const { seconds, width, height, waveform } = row
	return {
		mimetype: row.mimetype,
		fileName: row.fileName,
		size: blob.size,
		sha256: row.sha256,
		seconds,
		width,
		height,
		waveform,
		read: () => store.read(blob.storageKey),
	}
}
