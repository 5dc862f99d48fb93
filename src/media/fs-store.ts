import { mkdir, rename, rm, stat } from 'node:fs/promises'
import { dirname, join, resolve } from 'node:path'
import { type ByteRange, copyCounted, type MediaStore, newObjectKey, type StoredObject } from './store'

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
			const writer = Bun.file(partial).writer()
			try {
				const written = await copyCounted(body, writer, maxBytes)
				await writer.end()
				await rename(partial, path)
				return { key, ...written }
			} catch (err) {
				await Promise.resolve(writer.end()).catch(() => {})
				await rm(partial, { force: true })
				throw err
			}
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
