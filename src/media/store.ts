import { createHash } from 'node:crypto'

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

/** What a store's writer needs: Bun's file and S3 sinks both are one. */
interface ChunkSink {
	write(chunk: Uint8Array): unknown
	flush(): unknown
}

/**
 * Copies `body` into `sink` chunk by chunk, counting and hashing it, and throws MediaTooLargeError
 * before writing the chunk that passes `maxBytes`. Waits for each flush, so a slow sink slows the
 * reader rather than buffering the upload in memory. Ending the sink, or cleaning up, is the caller's.
 */
export async function copyCounted(body: AsyncIterable<Uint8Array>, sink: ChunkSink, maxBytes: number): Promise<{ size: number; sha256: string }> {
	const hash = createHash('sha256')
	let size = 0
	for await (const chunk of body) {
		size += chunk.byteLength
		if (size > maxBytes) throw new MediaTooLargeError(maxBytes)
		hash.update(chunk)
		sink.write(chunk)
		await sink.flush()
	}
	return { size, sha256: hash.digest('hex') }
}
