import { S3Client } from 'bun'
import type { MediaConfig } from '../config'
import { type ByteRange, copyCounted, type MediaStore, newObjectKey, type StoredObject } from './store'

type S3Settings = Extract<MediaConfig['store'], { kind: 's3' }>

/**
 * Media in an S3-compatible bucket through Bun's own S3 client: writes are multipart uploads fed
 * chunk by chunk, reads are (ranged) GETs streamed through. Credentials not given here come from
 * Bun's usual S3_* / AWS_* variables.
 */
export function createS3MediaStore(settings: S3Settings): MediaStore {
	const client = new S3Client({
		bucket: settings.bucket,
		...(settings.endpoint ? { endpoint: settings.endpoint } : {}),
		...(settings.region ? { region: settings.region } : {}),
		...(settings.accessKeyId ? { accessKeyId: settings.accessKeyId } : {}),
		...(settings.secretAccessKey ? { secretAccessKey: settings.secretAccessKey } : {}),
	})
	return {
		kind: 's3',
		async write(body, { maxBytes, contentType }): Promise<StoredObject> {
			const key = newObjectKey()
			const file = client.file(key)
			const writer = file.writer({ type: contentType ?? 'application/octet-stream' })
			try {
				const written = await copyCounted(body, writer, maxBytes)
				await writer.end()
				return { key, ...written }
			} catch (err) {
				await Promise.resolve(writer.end(err instanceof Error ? err : undefined)).catch(() => {})
				await file.delete().catch(() => {})
				throw err
			}
		},
		read(key, range?: ByteRange) {
			const file = client.file(key)
			return (range ? file.slice(range.start, range.end + 1) : file).stream()
		},
		exists: (key) => client.file(key).exists(),
		async delete(key) {
			await client.file(key).delete()
		},
	}
}
