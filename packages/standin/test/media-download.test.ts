import { afterAll, beforeAll, describe, expect, it } from 'bun:test'
import { createHash } from 'node:crypto'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { downloadContentFromMessage, downloadMediaMessage, type proto } from '@whiskeysockets/baileys'
import { startStandIn, trustMediaCa, type ContentSpec, type StandIn } from '../src'
import { trustRootKey } from './root-key'
import { pairedCompanion, quietLibsignal, statusCode, type TestCompanion } from './companion'
import { bytesOf, checkServedFile, download, sha256 } from './media-helpers'

const ACCOUNT = '15550000500'
const ALICE = '15550000501'
const directory = mkdtempSync(join(tmpdir(), 'standin-media-'))

let standIn: StandIn
let companion: TestCompanion
let untrust: () => void
const restoreConsole = quietLibsignal()

beforeAll(async () => {
	standIn = await startStandIn()
	trustRootKey(standIn.rootPublicKey)
	untrust = trustMediaCa(standIn)
	;({ companion } = await pairedCompanion(standIn, ACCOUNT))
	await companion.untilInitialSync()
})

afterAll(async () => {
	restoreConsole()
	untrust()
	companion.end()
	await standIn.stop()
	rmSync(directory, { recursive: true, force: true })
})

const thumbnail = bytesOf(300, 99)
type MediaCase = { spec: ContentSpec & { file: Uint8Array }; field: keyof proto.IMessage; expected: Record<string, unknown> }
const cases: Array<[string, MediaCase]> = [
	[
		'an image with caption, size and thumbnail',
		{
			spec: { kind: 'image', file: bytesOf(40_000, 1), caption: 'a photo', width: 640, height: 480, jpegThumbnail: thumbnail },
			field: 'imageMessage',
			expected: { caption: 'a photo', width: 640, height: 480, mimetype: 'image/jpeg' },
		},
	],
	[
		'a video',
		{
			spec: { kind: 'video', file: bytesOf(90_000, 2), caption: 'a clip', seconds: 12, jpegThumbnail: thumbnail },
			field: 'videoMessage',
			expected: { caption: 'a clip', seconds: 12, gifPlayback: false, mimetype: 'video/mp4' },
		},
	],
	[
		'a gif (a video that plays as a gif)',
		{ spec: { kind: 'gif', file: bytesOf(30_000, 3), seconds: 3 }, field: 'videoMessage', expected: { gifPlayback: true } },
	],
	[
		'an audio file',
		{
			spec: { kind: 'audio', file: bytesOf(25_000, 4), seconds: 95, mimetype: 'audio/mp4' },
			field: 'audioMessage',
			expected: { ptt: false, seconds: 95 },
		},
	],
	[
		'a voice note with its waveform',
		{
			spec: { kind: 'voice', file: bytesOf(9_000, 5), seconds: 7, waveform: bytesOf(64, 6).map((byte) => byte % 100) },
			field: 'audioMessage',
			expected: { ptt: true, seconds: 7, mimetype: 'audio/ogg; codecs=opus' },
		},
	],
	[
		'a document with file name and page count',
		{
			spec: { kind: 'document', file: bytesOf(70_000, 7), fileName: 'report.pdf', pageCount: 3, mimetype: 'application/pdf' },
			field: 'documentMessage',
			expected: { fileName: 'report.pdf', pageCount: 3, mimetype: 'application/pdf' },
		},
	],
	[
		'an animated sticker',
		{
			spec: { kind: 'sticker', file: bytesOf(12_000, 8), isAnimated: true },
			field: 'stickerMessage',
			expected: { isAnimated: true, mimetype: 'image/webp' },
		},
	],
]

describe('media from a contact', () => {
	it.each<[string, MediaCase]>(cases)(
		'delivers %s, Signal-encrypted; Baileys downloads the original bytes',
		async (_name, { spec, field, expected }) => {
			const { id, devices, media } = await standIn.deliverContent({ to: ACCOUNT, from: ALICE, ...spec })
			expect(['pkmsg', 'msg']).toContain(devices[0]!.as)
			const message = await companion.messageOf(id)
			const content = message.message![field] as Record<string, unknown>
			expect(content).toMatchObject({ ...expected, url: media!.url, directPath: media!.directPath })
			expect(Number(content.fileLength)).toBe(spec.file.byteLength)
			expect(Buffer.from(content.fileSha256 as Uint8Array).toString('base64')).toBe(media!.fileSha256)
			expect(media!.fileSha256).toBe(sha256(spec.file))
			if ('waveform' in spec) expect(Buffer.from(content.waveform as Uint8Array).equals(Buffer.from(spec.waveform!))).toBe(true)
			if ('jpegThumbnail' in spec) expect(Buffer.from(content.jpegThumbnail as Uint8Array).equals(thumbnail)).toBe(true)

			const bytes = await download(message)
			expect(bytes.equals(Buffer.from(spec.file))).toBe(true)
			const served = await checkServedFile(media!.url, content, media!.mediaType as 'image')
			expect(served).toEqual({
				mac: true,
				fileEncSha256: true,
				contentLength: served.bodyLength,
				bodyLength: (Math.floor(spec.file.byteLength / 16) + 1) * 16 + 10,
			})
		},
	)

	it('a document with a caption arrives wrapped as phones send it, and still downloads', async () => {
		const file = bytesOf(5_000, 9)
		const { id } = await standIn.deliverContent({
			to: ACCOUNT,
			from: ALICE,
			kind: 'document',
			file,
			fileName: 'notes.txt',
			mimetype: 'text/plain',
			caption: 'see notes',
		})
		const message = await companion.messageOf(id)
		expect(message.message?.documentWithCaptionMessage?.message?.documentMessage).toMatchObject({ caption: 'see notes', fileName: 'notes.txt' })
		expect((await download(message)).equals(file)).toBe(true)
	})

	it('streams a large file from a path: encrypted to disk, served with its length, downloaded as a stream', async () => {
		const path = join(directory, 'large.bin')
		const chunk = bytesOf(1 << 20, 10)
		const writer = Bun.file(path).writer()
		const expected = createHash('sha256')
		for (let index = 0; index < 24; index++) {
			chunk[0] = index
			writer.write(chunk)
			expected.update(chunk)
		}
		await writer.end()
		const { id, media } = await standIn.deliverContent({ to: ACCOUNT, from: ALICE, kind: 'video', file: path })
		expect(media!.fileLength).toBe(24 << 20)
		const stream = await downloadMediaMessage(await companion.messageOf(id), 'stream', {})
		const actual = createHash('sha256')
		let length = 0
		for await (const part of stream) {
			actual.update(part as Buffer)
			length += (part as Buffer).byteLength
		}
		expect(length).toBe(24 << 20)
		expect(actual.digest('hex')).toBe(expected.digest('hex'))
	})

	it('answers the byte ranges Baileys asks for when given a start and an end byte', async () => {
		const file = bytesOf(100_000, 11)
		const { id } = await standIn.deliverContent({ to: ACCOUNT, from: ALICE, kind: 'document', file, fileName: 'ranged.bin' })
		const content = (await companion.messageOf(id)).message!.documentMessage!
		const after = standIn.position
		const stream = await downloadContentFromMessage(content, 'document', { startByte: 1_000, endByte: 50_000 })
		const chunks: Buffer[] = []
		for await (const part of stream) chunks.push(part as Buffer)
		expect(Buffer.concat(chunks).equals(file.subarray(1_000, 50_000))).toBe(true)
		const download = await standIn.core.log.waitFor('media-download', (event) => content.directPath!.startsWith(event.path), { after })
		expect(download.range).toBe('bytes=976-50016')
	})
})

describe('tampered files', () => {
	it('a flipped ciphertext byte: the MAC and fileEncSha256 fail, and Baileys (which checks neither) returns wrong bytes', async () => {
		const file = bytesOf(20_000, 12)
		const { id, media } = await standIn.deliverContent({ to: ACCOUNT, from: ALICE, kind: 'image', file, tamper: 'ciphertext' })
		const message = await companion.messageOf(id)
		const bytes = await download(message)
		expect(bytes.equals(file)).toBe(false)
		expect(sha256(bytes)).not.toBe(media!.fileSha256)
		expect(await checkServedFile(media!.url, message.message!.imageMessage!, 'image')).toMatchObject({ mac: false, fileEncSha256: false })
	})

	it('a wrong MAC over an intact file: only a MAC check notices', async () => {
		const file = bytesOf(20_000, 13)
		const { id, media } = await standIn.deliverContent({ to: ACCOUNT, from: ALICE, kind: 'image', file, tamper: 'mac' })
		const message = await companion.messageOf(id)
		expect((await download(message)).equals(file)).toBe(true)
		expect(await checkServedFile(media!.url, message.message!.imageMessage!, 'image')).toMatchObject({ mac: false, fileEncSha256: true })
	})
})

describe('expired files and re-upload requests', () => {
	it('410 until updateMediaMessage is answered; then a new direct path downloads (downloadMediaMessage does not re-upload by itself)', async () => {
		const file = bytesOf(30_000, 14)
		const { id, media } = await standIn.deliverContent({ to: ACCOUNT, from: ALICE, kind: 'image', file, expired: 410 })
		const message = await companion.messageOf(id)
		const socket = companion.socket!
		// Its reupload branch tests `error.status`, but Boom errors carry `output.statusCode`.
		const failed = await downloadMediaMessage(message, 'buffer', {}, { reuploadRequest: socket.updateMediaMessage, logger: socket.logger }).catch(
			(error) => error,
		)
		expect(statusCode(failed)).toBe(410)

		// After a media_conn query Baileys rewrites the url onto the host it names: the CDN.
		await socket.refreshMediaConn(true)
		const updated = await socket.updateMediaMessage(message)
		const content = updated.message!.imageMessage!
		expect(content.directPath).not.toBe(media!.directPath)
		expect(new URL(content.url!).host).toBe(new URL(standIn.mediaUrl).host)
		expect(await standIn.waitForMediaRetry(id)).toMatchObject({ result: 'SUCCESS', directPath: content.directPath })
		expect((await download(updated)).equals(file)).toBe(true)
		expect((await fetch(media!.url)).status).toBe(410)
	})

	it('a file can expire after delivery (404), and the phone can answer the re-upload request with an error', async () => {
		const file = bytesOf(8_000, 15)
		const { id } = await standIn.deliverContent({ to: ACCOUNT, from: ALICE, kind: 'voice', file, seconds: 2 })
		const message = await companion.messageOf(id)
		expect((await download(message)).equals(file)).toBe(true)
		standIn.expireMedia(id, 404)
		standIn.setReupload(id, 'NOT_FOUND')
		expect(statusCode(await download(message).catch((error) => error))).toBe(404)
		const failed = await companion.socket!.updateMediaMessage(message).catch((error) => error)
		expect(failed.message).toContain('NOT_FOUND')
		expect(statusCode(failed)).toBe(404)
		expect(await standIn.waitForMediaRetry(id)).toMatchObject({ result: 'NOT_FOUND', directPath: undefined })
	})

	it('a re-upload request for a message the phone does not know gets an error notification', async () => {
		const { id } = await standIn.deliverContent({ to: ACCOUNT, from: ALICE, kind: 'image', file: bytesOf(1_000, 16) })
		const message = structuredClone(await companion.messageOf(id))
		message.key.id = '3A0000000000000000UNKNOWN'
		const failed = await companion.socket!.updateMediaMessage(message).catch((error) => error)
		expect(statusCode(failed)).toBe(404)
	})
})
