import { createHash } from 'node:crypto'
import { mkdir, rename, rm, stat } from 'node:fs/promises'
import { dirname, join, resolve } from 'node:path'
import { type ByteRange, type MediaStore, MediaTooLargeError, newObjectKey, type StoredObject } from './store'

const KEY = /^\d{4}-\d{2}-\d{2}\/[0-9a-f-]{36}$/

/**
 * Media in a folder (`MEDIA_DIR`, by default `<DATA_DIR>/media`). An object is written under a
 * temporary name and renamed into place once whole, so a reader never sees half a file.
 */
export function createFsMediaStore(dir: string): MediaStore {
	const root = resolve(dir)
	const pathOf = (key: string) => {
		// Keys are the store's own; anything else never reaches the disk.
		if (!KEY.test(key)) throw new Error(`not a media object key: ${key}`)
		return join(root, key)
	}
	return {
		kind: 'fs',
		async write(body, { maxBytes }): Promise<StoredObject> {
			const key = newObjectKey()
			const path = pathOf(key)
			const partial = `${path}.partial`
			await mkdir(dirname(path), { recursive: true })
			const hash = createHash('sha256')
			const writer = Bun.file(partial).writer()
			let size = 0
			try {
				for await (const chunk of body) {
					size += chunk.byteLength
					if (size > maxBytes) throw new MediaTooLargeError(maxBytes)
					hash.update(chunk)
					writer.write(chunk)
					await writer.flush()
				}
				await writer.end()
				await rename(partial, path)
			} catch (err) {
				await Promise.resolve(writer.end()).catch(() => {})
				await rm(partial, { force: true })
				throw err
			}
			return { key, size, sha256: hash.digest('hex') }
		},
		read(key, range?: ByteRange) {
			const file = Bun.file(pathOf(key))
			return (range ? file.slice(range.start, range.end + 1) : file).stream()
		},
		async exists(key) {
			return stat(pathOf(key)).then(
				() => true,
				() => false,
			)
		},
		async delete(key) {
			await rm(pathOf(key), { force: true })
		},
	}
}
