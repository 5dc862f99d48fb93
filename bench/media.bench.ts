import { randomBytes } from 'node:crypto'
import { createReadStream, mkdtempSync, rmSync, statSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { encryptedStream } from '@whiskeysockets/baileys'
import pino from 'pino'
import { incomingMediaId } from '../src/core/media'
import { openPostgres } from '../src/db/client'
import { createCipher } from '../src/lib/crypto'
import { createFsMediaStore } from '../src/media/fs-store'
import { mediaRecords } from '../src/media/records'
import { createMediaFetcher } from '../src/whatsapp/media/fetcher'
import { createSession } from '../test/events/fixtures'
import { createTestDatabase } from '../test/helpers/database'
import type { BenchResult } from './run'

const MEGABYTES = Number(process.env.BENCH_MEDIA_MB ?? 50)

/**
 * Incoming media through the runner's path: a file of MEGABYTES MB, encrypted by Baileys as a
 * phone would, fetched over HTTP from a local CDN, decrypted, verified and written to the
 * filesystem media store. Baseline: a plain copy of the same (encrypted) bytes to a file in the
 * same run. Alongside, how far the process's RSS rises while the file streams, beside the file's
 * size, for the file and for one four times larger: streaming means growth far below the file's
 * size that stays put as files grow.
 */
export default async function mediaBench(): Promise<BenchResult[]> {
	const small = await incomingFile(MEGABYTES)
	// Four times the file: streaming shows as growth that stays put, not growth that follows the size.
	const large = await incomingFile(MEGABYTES * 4)
	return [
		{
			name: `media: ${MEGABYTES} MB incoming file, CDN → decrypt+verify → store`,
			value: small.mbps,
			unit: 'MB/s',
			baseline: small.copyMbps,
			baselineName: 'file copy',
			higherIsBetter: true,
		},
		{
			name: `media: RSS growth while a ${MEGABYTES} MB file streams`,
			value: small.growthMb,
			unit: 'MB',
			baseline: MEGABYTES,
			baselineName: 'the file',
			higherIsBetter: false,
		},
		{
			name: `media: RSS growth while a ${MEGABYTES * 4} MB file streams`,
			value: large.growthMb,
			unit: 'MB',
			baseline: MEGABYTES * 4,
			baselineName: 'the file',
			higherIsBetter: false,
		},
	]
}

async function incomingFile(megabytes: number): Promise<{ mbps: number; copyMbps: number; growthMb: number }> {
	const dir = mkdtempSync(join(tmpdir(), 'sb-bench-media-'))
	const testDb = await createTestDatabase()
	const database = openPostgres({ url: testDb.url, max: 4 })
	const source = join(dir, 'plain')
	await Bun.write(source, randomBytes(megabytes * 1024 * 1024))
	const encrypted = await encryptedStream({ stream: createReadStream(source) }, 'video')
	// The CDN runs in a process of its own, as a real one would: its buffers are not the runner's.
	const cdn = Bun.spawn(
		[
			'bun',
			'-e',
			`const s = Bun.serve({ port: 0, hostname: '127.0.0.1', fetch: () => new Response(Bun.file(${JSON.stringify(encrypted.encFilePath)})) }); console.log(s.port)`,
		],
		{ stdout: 'pipe' },
	)
	const port = Number(new TextDecoder().decode((await cdn.stdout.getReader().read()).value).trim())
	try {
		const meta = await createSession(database.db, 'bench')
		const store = createFsMediaStore(join(dir, 'store'))
		const fetcher = createMediaFetcher({
			db: database.db,
			store,
			records: mediaRecords(database.db, createCipher(randomBytes(32))),
			logger: pino({ level: 'warn' }),
			maxBytes: (megabytes + 1) * 1024 * 1024,
			download: 'eager',
			urlOf: (directPath) => `http://127.0.0.1:${port}${directPath}`,
		})
		const bytes = statSync(source).size

		const copyStart = performance.now()
		await Bun.write(join(dir, 'copy'), Bun.file(encrypted.encFilePath))
		const copyMbps = bytes / 1024 / 1024 / ((performance.now() - copyStart) / 1000)

		Bun.gc(true)
		const rssBefore = process.memoryUsage.rss()
		let peak = rssBefore
		const sampler = setInterval(() => {
			peak = Math.max(peak, process.memoryUsage.rss())
		}, 10)
		const id = incomingMediaId(meta.sessionId, 'BENCH', false)
		const start = performance.now()
		const files = [
			{
				...meta,
				chatJid: '4915100000001@s.whatsapp.net',
				messageId: 'BENCH',
				fromMe: false,
				ref: {
					id,
					kind: 'video' as const,
					mimetype: 'video/mp4',
					state: 'pending' as const,
					size: bytes,
					sha256: encrypted.fileSha256.toString('hex'),
				},
				location: { mediaKey: encrypted.mediaKey, directPath: '/v/bench', fileEncSha256: encrypted.fileEncSha256.toString('hex') },
			},
		]
		await fetcher.record(files)
		fetcher.queue(files, { emit: async () => {}, reupload: async () => null })
		await fetcher.idle()
		const seconds = (performance.now() - start) / 1000
		clearInterval(sampler)
		const [row] = await database.sql!`select state from media where id = ${id}`
		if (row?.state !== 'stored') throw new Error(`the file was not stored (state ${row?.state})`)
		return { mbps: bytes / 1024 / 1024 / seconds, copyMbps, growthMb: (peak - rssBefore) / 1024 / 1024 }
	} finally {
		cdn.kill()
		rmSync(encrypted.encFilePath, { force: true })
		rmSync(dir, { recursive: true, force: true })
		await database.close()
		await testDb.drop()
	}
}
