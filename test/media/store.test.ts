import { afterAll, describe, expect, it } from 'bun:test'
import { createHash } from 'node:crypto'
import { mkdtempSync, readdirSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createFsMediaStore } from '../../src/media/fs-store'
import { createS3MediaStore } from '../../src/media/s3-store'
import { type MediaStore, MediaTooLargeError } from '../../src/media/store'
import { startFakeS3 } from '../helpers/fake-s3'
import { rejectionOf } from '../helpers/rejection'

/** Both media store drivers pass the same contract. */

const dir = mkdtempSync(join(tmpdir(), 'sb-media-'))
const s3 = startFakeS3()
afterAll(() => {
	rmSync(dir, { recursive: true, force: true })
	s3.close()
})

const drivers: [string, MediaStore][] = [
	['filesystem', createFsMediaStore(dir)],
	[
		'S3',
		createS3MediaStore({ kind: 's3', bucket: 'media', endpoint: s3.endpoint, region: 'us-east-1', accessKeyId: 'test', secretAccessKey: 'test' }),
	],
]

/** `total` bytes of a repeating pattern, in chunks, never all at once. */
async function* chunks(total: number, size = 64 * 1024) {
	for (let sent = 0; sent < total; sent += size) {
		const n = Math.min(size, total - sent)
		yield Uint8Array.from({ length: n }, (_, i) => (sent + i) % 251)
	}
}
const sha256Of = async (stream: ReadableStream<Uint8Array>) => {
	const hash = createHash('sha256')
	for await (const chunk of stream) hash.update(chunk)
	return hash.digest('hex')
}
const bytesOf = async (stream: ReadableStream<Uint8Array>) => new Uint8Array(await new Response(stream).arrayBuffer())

describe.each(drivers)('the %s media store', (_, store) => {
	it('writes a stream and reads back the same bytes, with its size and sha256', async () => {
		const total = 3 * 1024 * 1024 + 17
		const object = await store.write(chunks(total), { maxBytes: 10 * 1024 * 1024 })
		const expected = createHash('sha256')
		for await (const chunk of chunks(total)) expected.update(chunk)
		expect(object).toMatchObject({ size: total, sha256: expected.digest('hex') })
		expect(await sha256Of(store.read(object.key))).toBe(object.sha256)
		expect(await store.exists(object.key)).toBe(true)
	})

	it('reads a byte range', async () => {
		const object = await store.write(chunks(1000), { maxBytes: 10_000 })
		expect([...(await bytesOf(store.read(object.key, { start: 10, end: 14 })))]).toEqual([10, 11, 12, 13, 14])
	})

	it('refuses a file past the limit and keeps nothing of it', async () => {
		const before = store.kind === 's3' ? s3.objects.size : 0
		expect(await rejectionOf(store.write(chunks(200_000), { maxBytes: 100_000 }))).toBeInstanceOf(MediaTooLargeError)
		if (store.kind === 's3') expect(s3.objects.size).toBe(before)
		else expect(readdirSync(dir, { recursive: true }).filter((f) => String(f).endsWith('.partial'))).toEqual([])
	})

	it('deletes', async () => {
		const object = await store.write(chunks(10), { maxBytes: 100 })
		await store.delete(object.key)
		expect(await store.exists(object.key)).toBe(false)
	})
})
