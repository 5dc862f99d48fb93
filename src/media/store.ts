/** An object in the media store, as written: its opaque key, its size and the sha256 of its bytes (hex). */
export interface StoredObject {
	key: string
	size: number
	sha256: string
}

/** An inclusive byte range, as HTTP Range requests name them. */
export interface ByteRange {
	start: number
	end: number
}

/**
 * Where media bytes live: a folder (`fs`) or an S3-compatible bucket (`s3`). Objects are written
 * once, as a stream, and never changed; what they are (tenant, sha256, message) is kept in
 * PostgreSQL, which also deduplicates them per tenant by sha256.
 */
export interface MediaStore {
	readonly kind: 'fs' | 's3'
	/**
	 * Streams `body` into a new object, hashing it on the way. Past `maxBytes` it stops reading,
	 * removes what it wrote and throws MediaTooLargeError; nothing is ever held whole in memory.
	 */
	write(body: AsyncIterable<Uint8Array>, options: { maxBytes: number; contentType?: string }): Promise<StoredObject>
	/** The object's bytes, whole or `range` of them, as a stream. */
	read(key: string, range?: ByteRange): ReadableStream<Uint8Array>
	exists(key: string): Promise<boolean>
	delete(key: string): Promise<void>
}

export class MediaTooLargeError extends Error {
	override name = 'MediaTooLargeError'
	constructor(readonly maxBytes: number) {
		super(`the file is larger than ${maxBytes} bytes`)
	}
}

/** A new object key: a date folder (so no folder grows without bound) and a random name. */
export function newObjectKey(now = new Date()): string {
	return `${now.toISOString().slice(0, 10)}/${Bun.randomUUIDv7()}`
}
