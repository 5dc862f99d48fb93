import { afterAll, beforeAll, describe, expect, it } from 'bun:test'
import { createHash, randomBytes } from 'node:crypto'
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { encryptedStream } from '@whiskeysockets/baileys'
import pino from 'pino'
import type { WhatsAppEvent } from '../../src/whatsapp/port'
import { incomingMediaId } from '../../src/core/media'
import { createCipher } from '../../src/lib/crypto'
import { createFsMediaStore } from '../../src/media/fs-store'
import { mediaRecords } from '../../src/media/records'
import { createMediaFetcher, type MediaSession, mediaUrl } from '../../src/whatsapp/media/fetcher'
import { openTestDatabase, type OpenTestDatabase } from '../helpers/database'
import { createSession } from '../events/fixtures'

/** The runner's media downloads against a CDN of the test's own, serving files Baileys encrypted. */

let t: OpenTestDatabase
let meta: { tenantId: string; sessionId: string }
const dir = mkdtempSync(join(tmpdir(), 'sb-fetcher-'))
const store = createFsMediaStore(dir)
const cdn = new Map<string, { bytes: Uint8Array; status?: number }>()
const server = Bun.serve({
	port: 0,
	hostname: '127.0.0.1',
	fetch(req) {
		const file = cdn.get(new URL(req.url).pathname)
		if (!file) return new Response('gone', { status: 404 })
		return new Response(file.status ? 'gone' : file.bytes, { status: file.status ?? 200 })
	},
})

beforeAll(async () => {
	t = await openTestDatabase()
	meta = await createSession(t.database.db, 'media')
})
afterAll(async () => {
	server.stop(true)
	rmSync(dir, { recursive: true, force: true })
	await t.close()
})

const cipher = createCipher(randomBytes(32))
const fetcherWith = (maxBytes = 10_000_000) =>
	createMediaFetcher({
		db: t.database.db,
		store,
		records: mediaRecords(t.database.db, cipher),
		logger: pino({ level: 'silent' }),
		maxBytes,
		download: 'eager',
		urlOf: (directPath) => `http://127.0.0.1:${server.port}${directPath}`,
	})

/** A received image: its bytes on the CDN (encrypted by Baileys), its row as the runner records it. */
async function received(plain: Uint8Array, { tamper = false } = {}) {
	const out = await encryptedStream(Buffer.from(plain), 'image')
	const encrypted = new Uint8Array(readFileSync(out.encFilePath))
	rmSync(out.encFilePath, { force: true })
	if (tamper) encrypted[50]! ^= 1
	const messageId = `3A${randomBytes(8).toString('hex').toUpperCase()}`
	const directPath = `/v/t62/${messageId}`
	cdn.set(directPath, { bytes: encrypted })
	const id = incomingMediaId(meta.sessionId, messageId, false)
	return {
		directPath,
		file: {
			...meta,
			chatJid: '4915100000001@s.whatsapp.net',
			messageId,
			fromMe: false,
			ref: {
				id,
				kind: 'image' as const,
				mimetype: 'image/jpeg',
				state: 'pending' as const,
				size: plain.byteLength,
				sha256: out.fileSha256.toString('hex'),
			},
			location: { mediaKey: out.mediaKey, directPath, fileEncSha256: out.fileEncSha256.toString('hex') },
		},
	}
}

function sessionHooks(reupload: MediaSession['reupload'] = async () => null) {
	const events: WhatsAppEvent[] = []
	return { events, session: { emit: async (e: WhatsAppEvent[]) => void events.push(...e), reupload } satisfies MediaSession }
}
const states = (events: WhatsAppEvent[]) => events.map((e) => (e.type === 'session.media.updated' ? [e.data.state, e.data.reason ?? null] : null))
const sha256 = (b: Uint8Array) => createHash('sha256').update(b).digest('hex')

describe('downloading received media', () => {
	it('stores a verified file, once per tenant however often it arrives', async () => {
		const plain = randomBytes(300_000)
		const fetcher = fetcherWith()
		const [a, b] = [await received(plain), await received(plain)]
		const { events, session } = sessionHooks()
		await fetcher.record([a.file, b.file])
		fetcher.queue([a.file, b.file], session)
		await fetcher.idle()
		expect(states(events)).toEqual([
			['stored', null],
			['stored', null],
		])
		const rows = await t.database.sql!`select state, size, sha256 from media where id in (${a.file.ref.id}, ${b.file.ref.id})`
		expect(rows.map((r) => r.state)).toEqual(['stored', 'stored'])
		const blobs = await t.database.sql!`select storage_key from media_blobs where tenant_id = ${meta.tenantId} and sha256 = ${sha256(plain)}`
		expect(blobs).toHaveLength(1)
		expect(sha256(new Uint8Array(await new Response(store.read(blobs[0]!.storage_key)).arrayBuffer()))).toBe(sha256(plain))
	})

	it('refuses a tampered file, naming the check, and keeps none of it', async () => {
		const { file } = await received(randomBytes(50_000), { tamper: true })
		const fetcher = fetcherWith()
		const { events, session } = sessionHooks()
		await fetcher.record([file])
		fetcher.queue([file], session)
		await fetcher.idle()
		expect(states(events)).toEqual([['failed', 'mac_mismatch']])
		const [row] = await t.database.sql!`select state, failure_reason from media where id = ${file.ref.id}`
		expect(row).toEqual({ state: 'failed', failure_reason: 'mac_mismatch' })
	})

	it('asks for an expired file again and stores it from where it lands', async () => {
		const { file, directPath } = await received(randomBytes(20_000))
		const moved = `${directPath}-again`
		cdn.set(moved, cdn.get(directPath)!)
		cdn.set(directPath, { bytes: new Uint8Array(), status: 410 })
		const fetcher = fetcherWith()
		const asked: string[] = []
		const { events, session } = sessionHooks(async (f) => {
			asked.push(f.messageKey.id)
			return { directPath: moved }
		})
		await fetcher.record([file])
		fetcher.queue([file], session)
		await fetcher.idle()
		expect(asked).toEqual([file.messageId])
		expect(states(events)).toEqual([
			['expired', 'the CDN answered 410'],
			['stored', null],
		])
	})

	it('gives an expired file up only once the re-upload failed, and says so', async () => {
		const { file, directPath } = await received(randomBytes(20_000))
		cdn.set(directPath, { bytes: new Uint8Array(), status: 404 })
		const fetcher = fetcherWith()
		const { events, session } = sessionHooks(async () => null)
		await fetcher.record([file])
		fetcher.queue([file], session)
		await fetcher.idle()
		expect(states(events)).toEqual([
			['expired', 'the CDN answered 404'],
			['failed', 'expired: re-upload failed'],
		])
	})

	it('refuses a file over the size limit', async () => {
		const { file } = await received(randomBytes(50_000))
		const fetcher = fetcherWith(10_000)
		const { events, session } = sessionHooks()
		await fetcher.record([file])
		fetcher.queue([file], session)
		await fetcher.idle()
		expect(states(events)).toEqual([['failed', 'too_large']])
	})
})

describe('the URL a received file is fetched from', () => {
	const allowed = ['whatsapp.net', '127.0.0.1']
	it("takes the host of the message's url when it is WhatsApp's (or a configured one), as Baileys does", () => {
		expect(mediaUrl(allowed, '/v/t62/abc', 'https://mmg.whatsapp.net/v/t62/abc?x=1')).toBe('https://mmg.whatsapp.net/v/t62/abc')
		expect(mediaUrl(allowed, '/v/t62/abc', 'https://media-fra3-1.cdn.whatsapp.net/v')).toBe('https://media-fra3-1.cdn.whatsapp.net/v/t62/abc')
		expect(mediaUrl(allowed, '/v/abc', 'https://127.0.0.1:7481/v/abc')).toBe('https://127.0.0.1:7481/v/abc')
		expect(mediaUrl(allowed, '/v/abc', null)).toBe('https://mmg.whatsapp.net/v/abc')
	})

	it("reads any other host a sender writes as WhatsApp's, so the runner never requests a host the sender picked", () => {
		for (const url of [
			'https://169.254.169.254/latest/meta-data',
			'https://10.0.0.1:8443/admin',
			'https://whatsapp.net.evil.example/x',
			'https://evilwhatsapp.net/x',
			'http://mmg.whatsapp.net/x',
			'not a url',
		])
			expect(mediaUrl(allowed, '/v/abc', url), url).toBe('https://mmg.whatsapp.net/v/abc')
		// A directPath cannot carry a host of its own either (`https://mmg.whatsapp.net@evil.example/…`).
		expect(new URL(mediaUrl(allowed, '@evil.example/x', null)).hostname).toBe('mmg.whatsapp.net')
	})
})
