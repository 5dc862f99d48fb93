import type { Db } from '../db/client'
import { keepBlob } from './blobs'
import type { MediaStore } from './store'

/** A profile picture kept in a tenant's media store. */
export interface KeptPicture {
	sha256: string
	size: number
	mimetype: string
}

/** WhatsApp's full-size profile pictures are 640 px JPEGs, well under this. */
export const PICTURE_MAX_BYTES = 5 * 1024 * 1024

/** The image type from the first bytes: WhatsApp's CDN (and a stand-in's) may say only application/octet-stream. */
export function sniffImageType(bytes: Uint8Array, declared: string | null): string {
	if (bytes[0] === 0xff && bytes[1] === 0xd8 && bytes[2] === 0xff) return 'image/jpeg'
	if (bytes[0] === 0x89 && bytes[1] === 0x50 && bytes[2] === 0x4e && bytes[3] === 0x47) return 'image/png'
	if (Buffer.from(bytes.subarray(0, 4)).toString() === 'RIFF' && Buffer.from(bytes.subarray(8, 12)).toString() === 'WEBP') return 'image/webp'
	const type = declared?.split(';')[0]?.trim().toLowerCase()
	return type?.startsWith('image/') ? type : 'image/jpeg'
}

/**
 * Fetches a profile picture from WhatsApp's CDN (the URL carries its own signature; no key is
 * needed: pictures are not end-to-end encrypted) and keeps it in the tenant's media store,
 * content-addressed like every file, so an unchanged picture fetched again is stored once.
 */
export function pictureKeeper({ db, store }: { db: Db; store: MediaStore }) {
	return async (tenantId: string, url: string): Promise<KeptPicture> => {
		const res = await fetch(url, { signal: AbortSignal.timeout(30_000) })
		if (!res.ok) throw new Error(`the picture's CDN answered ${res.status}`)
		const declaredLength = Number(res.headers.get('content-length') ?? 0)
		if (declaredLength > PICTURE_MAX_BYTES) throw new Error(`the picture is larger than ${PICTURE_MAX_BYTES} bytes`)
		const bytes = new Uint8Array(await res.arrayBuffer())
		if (bytes.byteLength > PICTURE_MAX_BYTES) throw new Error(`the picture is larger than ${PICTURE_MAX_BYTES} bytes`)
		const mimetype = sniffImageType(bytes, res.headers.get('content-type'))
		const object = await store.write(
			(async function* () {
				yield bytes
			})(),
			{ maxBytes: PICTURE_MAX_BYTES, contentType: mimetype },
		)
		await keepBlob(db, store, tenantId, object)
		return { sha256: object.sha256, size: object.size, mimetype }
	}
}

export type PictureKeeper = ReturnType<typeof pictureKeeper>
