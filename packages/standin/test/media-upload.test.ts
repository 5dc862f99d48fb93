import { afterAll, beforeAll, describe, expect, it } from 'bun:test'
import { randomBytes } from 'node:crypto'
import type { AnyMessageContent } from '@whiskeysockets/baileys'
import { startStandIn, trustMediaCa, type StandIn } from '../src'
import { trustRootKey } from './root-key'
import { pairedCompanion, quietLibsignal, type TestCompanion } from './companion'
import { bytesOf, download } from './media-helpers'

const ACCOUNT = '15550000700'
const DAN = '15550000701'
const danJid = `${DAN}@s.whatsapp.net`

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
})

const post = async (path: string, body: object) => {
	const response = await fetch(`${standIn.httpUrl}${path}`, { method: 'POST', body: JSON.stringify(body) })
	return { status: response.status, body: (await response.json()) as Record<string, any> }
}

const uploads: Array<[string, Buffer, (file: Buffer) => AnyMessageContent, string]> = [
	['an image', bytesOf(50_000, 21), (image) => ({ image, caption: 'sent image' }), 'imageMessage'],
	['a document', bytesOf(2_000_000, 22), (document) => ({ document, mimetype: 'application/pdf', fileName: 'big.pdf' }), 'documentMessage'],
	['a voice note', bytesOf(30_000, 23), (audio) => ({ audio, ptt: true, seconds: 4, mimetype: 'audio/ogg; codecs=opus' }), 'audioMessage'],
	['a video', bytesOf(300_000, 24), (video) => ({ video, seconds: 9 }), 'videoMessage'],
	['a sticker', bytesOf(20_000, 25), (sticker) => ({ sticker }), 'stickerMessage'],
]

describe('media the companion sends', () => {
	it('answers media_conn with the stand-in’s own HTTPS host', async () => {
		const connection = await companion.socket!.refreshMediaConn(true)
		expect(connection.hosts).toEqual([{ hostname: new URL(standIn.mediaUrl).host, maxContentLengthBytes: 2 ** 31 }])
		expect(connection.auth).toBeString()
	})

	it.each(uploads)('uploads %s to the CDN; the stand-in checks it and reads back the exact bytes', async (_name, file, content, field) => {
		const sent = await companion.socket!.sendMessage(danJid, content(file))
		const recorded = await standIn.waitForSent((message) => message.id === sent!.key.id)
		expect(recorded.media).toMatchObject({
			field,
			uploaded: true,
			verified: true,
			checks: { mac: true, fileEncSha256: true, fileSha256: true, fileLength: true },
			size: file.byteLength,
			sha256: new Bun.CryptoHasher('sha256').update(file).digest('hex'),
		})
		expect(Buffer.from(await standIn.readSentMedia(recorded.id)).equals(file)).toBe(true)
		// The upload is on the CDN too: the companion can download its own message.
		expect((await download(sent!)).equals(file)).toBe(true)
	})

	it('records failed checks when a message names an upload with the wrong key and hash', async () => {
		const file = bytesOf(10_000, 26)
		const sent = await companion.socket!.sendMessage(danJid, { image: file })
		await standIn.waitForSent((message) => message.id === sent!.key.id)
		const forged = { ...sent!.message!.imageMessage!, mediaKey: randomBytes(32), fileSha256: randomBytes(32) }
		const id = await companion.socket!.relayMessage(danJid, { imageMessage: forged }, {})
		const recorded = await standIn.waitForSent((message) => message.id === id)
		expect(recorded.media).toMatchObject({ uploaded: true, verified: false, checks: { mac: false, fileEncSha256: true, fileSha256: false } })
	})
})

describe('HTTP control routes for content and media', () => {
	it('GET /control names the CDN and the CA file', async () => {
		expect(await (await fetch(`${standIn.httpUrl}/control`)).json()).toMatchObject({ mediaUrl: standIn.mediaUrl, mediaCaFile: standIn.mediaCa.path })
		expect(await Bun.file(standIn.mediaCa.path).text()).toBe(standIn.mediaCa.pem)
	})

	it('POST /control/messages/{kind} delivers media from base64; expire and reupload change what the CDN and the phone answer', async () => {
		const file = bytesOf(3_000, 27)
		const { status, body } = await post('/control/messages/image', { to: ACCOUNT, from: DAN, data: file.toString('base64'), caption: 'over http' })
		expect(status).toBe(200)
		expect(body.devices[0].as).not.toBe('plaintext')
		const message = await companion.messageOf(body.id)
		expect(message.message?.imageMessage?.caption).toBe('over http')
		expect((await download(message)).equals(file)).toBe(true)

		expect((await post('/control/media/expire', { id: body.id, status: 404 })).body).toEqual({ ok: true, status: 404 })
		expect((await fetch(body.media.url)).status).toBe(404)
		expect((await post('/control/media/reupload', { id: body.id, result: 'GENERAL_ERROR' })).status).toBe(200)
		const failed = await companion.socket!.updateMediaMessage(message).catch((error) => error)
		expect(failed.message).toContain('GENERAL_ERROR')
		expect((await post('/control/media/reupload', { id: body.id, result: 'MAYBE' })).status).toBe(400)
	})

	it("a voice note's waveform travels as the base64 of its 64 bytes (0–100 each); anything else is refused", async () => {
		const waveform = Buffer.from(Array.from({ length: 64 }, (_, i) => (i * 7) % 101))
		const voice = { to: ACCOUNT, from: DAN, data: bytesOf(2_000, 29).toString('base64'), seconds: 3 }
		const { status, body } = await post('/control/messages/voice', { ...voice, waveform: waveform.toString('base64') })
		expect(status).toBe(200)
		const audio = (await companion.messageOf(body.id)).message?.audioMessage
		expect(audio?.ptt).toBe(true)
		expect(Buffer.from(audio!.waveform!).equals(waveform)).toBe(true)
		expect(await post('/control/messages/voice', { ...voice, waveform: [...waveform] })).toEqual({
			status: 400,
			body: { error: "'waveform' must be base64 (bytes travel as base64 over HTTP)" },
		})
	})

	it('POST /control/messages/{kind} for kinds without a file, and 400 for an unknown kind', async () => {
		const poll = await post('/control/messages/poll', { to: ACCOUNT, from: DAN, name: 'Coffee?', options: ['Yes', 'No'] })
		await companion.messageOf(poll.body.id)
		const vote = await post('/control/messages/poll-vote', { to: ACCOUNT, from: DAN, poll: { id: poll.body.id }, options: ['Yes'] })
		expect(vote.body.vote).toEqual({ creatorJid: danJid, voterJid: danJid })
		const reaction = await post('/control/messages/reaction', { to: ACCOUNT, from: DAN, target: { id: poll.body.id }, emoji: '🎉' })
		expect((await companion.messageOf(reaction.body.id)).message?.reactionMessage?.text).toBe('🎉')
		expect(await post('/control/messages/hologram', { to: ACCOUNT, from: DAN })).toEqual({
			status: 400,
			body: { error: "no message kind 'hologram'" },
		})
	})

	it('GET /control/sent/{id}/media streams the bytes a companion uploaded', async () => {
		const file = bytesOf(80_000, 28)
		const sent = await companion.socket!.sendMessage(danJid, { document: file, fileName: 'x.bin', mimetype: 'application/octet-stream' })
		await standIn.waitForSent((message) => message.id === sent!.key.id)
		const response = await fetch(`${standIn.httpUrl}/control/sent/${sent!.key.id}/media`)
		expect(response.headers.get('content-type')).toBe('application/octet-stream')
		expect(Buffer.from(await response.arrayBuffer()).equals(file)).toBe(true)
		expect((await fetch(`${standIn.httpUrl}/control/sent/nothing/media`)).status).toBe(400)
	})
})

describe('trusting the CDN from another process', () => {
	const script = `const r = await fetch(process.argv[1]); console.log(r.status, new Bun.CryptoHasher('sha256').update(new Uint8Array(await r.arrayBuffer())).digest('base64'))`

	it('NODE_EXTRA_CA_CERTS at process start is enough; without it the certificate is refused', async () => {
		const { media } = await standIn.deliverContent({ to: ACCOUNT, from: DAN, kind: 'document', file: bytesOf(4_000, 29), fileName: 'y.bin' })
		const run = async (env: Record<string, string>) => {
			const child = Bun.spawn([process.execPath, '-e', script, media!.url], { env: { ...process.env, ...env }, stdout: 'pipe', stderr: 'pipe' })
			const [out, err, code] = await Promise.all([new Response(child.stdout).text(), new Response(child.stderr).text(), child.exited])
			return { out: out.trim(), err, code }
		}
		const trusted = await run({ NODE_EXTRA_CA_CERTS: standIn.mediaCa.path })
		expect(trusted.out).toBe(`200 ${media!.fileEncSha256}`)
		const untrusted = await run({ NODE_EXTRA_CA_CERTS: '' })
		expect(untrusted.code).not.toBe(0)
		expect(untrusted.err).toMatch(/certificate/i)
	})
})
