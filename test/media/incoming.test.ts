import { afterAll, beforeAll, describe, expect, it } from 'bun:test'
import { createHash, randomBytes } from 'node:crypto'
import type { ContentSpec } from '@switchboard/standin'
import { sql } from 'drizzle-orm'
import { createVerifiedUser } from '../helpers/accounts'
import { type Client, clientFor, pairedSession, type SessionsWorld, startSessionsWorld, untilStatus } from '../helpers/sessions'

/**
 * Received media end to end: the stand-in delivers files as a phone does (encrypted on its CDN),
 * the real Baileys socket receives them, the runner downloads, verifies and stores them, and
 * GET /media/:id serves the bytes.
 */

const PHONE = '4915100000101'
const CONTACT = '4915100000202'
let world: SessionsWorld
let api: Client
let sessionId: string

beforeAll(async () => {
	world = await startSessionsWorld()
	api = await world.tenant()
	sessionId = (await pairedSession(world, api, PHONE)).id
})
afterAll(() => world.close())

const sha256 = (b: Uint8Array) => createHash('sha256').update(b).digest('hex')

/** Delivers `spec` from the contact; resolves with the message's media reference once the runner settled its file. */
async function receive(spec: ContentSpec) {
	const after = world.events.events.length
	const delivered = await world.standIn.deliverContent({ to: PHONE, from: CONTACT, ...spec })
	const upsert = await world.events.waitFor('session.messages.upsert', sessionId, {
		after,
		where: (e) => e.data.messages.some((m) => m.key.id === delivered.id),
	})
	const message = upsert.data.messages.find((m) => m.key.id === delivered.id)!
	const settled = await world.events.waitFor('session.media.updated', sessionId, {
		after,
		where: (e) => e.data.id === message.media?.id && e.data.state !== 'expired',
		timeoutMs: 20_000,
	})
	return { delivered, message, settled: settled.data }
}

describe('received media', () => {
	it.each([
		['an image', { kind: 'image', file: randomBytes(120_000), mimetype: 'image/jpeg', width: 800, height: 600, caption: 'look' }, 'image'],
		['a voice note', { kind: 'voice', file: randomBytes(30_000), mimetype: 'audio/ogg; codecs=opus', seconds: 4 }, 'voice'],
		['a document', { kind: 'document', file: randomBytes(70_000), mimetype: 'application/pdf', fileName: 'invoice.pdf', pageCount: 2 }, 'document'],
		['a video', { kind: 'video', file: randomBytes(400_000), mimetype: 'video/mp4', seconds: 12 }, 'video'],
	] as const)('stores %s and serves bytes whose sha256 is the original', async (_, spec, kind) => {
		const { message, settled } = await receive(spec as ContentSpec)
		expect(message.kind).toBe(kind)
		expect(message.media).toMatchObject({ state: 'pending', size: spec.file.byteLength, sha256: sha256(spec.file) })
		expect(settled).toMatchObject({ state: 'stored', size: spec.file.byteLength, sha256: sha256(spec.file) })
		const res = await api.fetch(`/media/${message.media!.id}`)
		expect(res.status).toBe(200)
		expect(res.headers.get('content-type')).toBe(spec.mimetype)
		expect(sha256(new Uint8Array(await res.arrayBuffer()))).toBe(sha256(spec.file))
	})

	it('stores an empty file and serves it; no range of it can be satisfied', async () => {
		const { message, settled } = await receive({
			kind: 'document',
			file: new Uint8Array(),
			mimetype: 'text/plain',
			fileName: 'empty.txt',
		} as ContentSpec)
		expect(settled).toMatchObject({ state: 'stored', size: 0 })
		// The message read over REST says what was stored, though WhatsApp's message left the 0 out.
		const listed = await api.get(`/chats/${CONTACT}@s.whatsapp.net/messages?limit=50`)
		expect(listed.body.items.find((m: { media?: { id: string } }) => m.media?.id === message.media!.id)?.media).toMatchObject({
			state: 'stored',
			size: 0,
		})
		const whole = await api.fetch(`/media/${message.media!.id}`)
		expect(whole.status).toBe(200)
		expect((await whole.arrayBuffer()).byteLength).toBe(0)
		for (const range of ['bytes=-5', 'bytes=0-', 'bytes=0-0']) {
			const res = await api.fetch(`/media/${message.media!.id}`, { headers: { range } })
			expect(res.status, range).toBe(416)
			expect(res.headers.get('content-range'), range).toBe('bytes */0')
		}
	})

	it('refuses a tampered file, naming the check, and serves nothing', async () => {
		const { message, settled } = await receive({ kind: 'image', file: randomBytes(40_000), mimetype: 'image/png', tamper: 'ciphertext' })
		expect(settled).toMatchObject({ state: 'failed', reason: 'mac_mismatch' })
		const res = await api.get(`/media/${message.media!.id}`)
		expect(res.status).toBe(409)
		expect(res.body.error).toMatchObject({ code: 'MEDIA_NOT_STORED', details: { state: 'failed', reason: 'mac_mismatch' } })
	})

	it("does not take a file for one the tenant holds because it names that file's SHA-256: it fetches and checks it", async () => {
		// The tenant holds these bytes (an upload); a contact's message announces their hash.
		const held = randomBytes(12_000)
		expect((await api.fetch('/media', { method: 'POST', headers: { 'content-type': 'application/pdf' }, body: held })).status).toBe(201)
		const tampered = await receive({ kind: 'document', file: held, mimetype: 'application/pdf', fileName: 'tampered.pdf', tamper: 'ciphertext' })
		expect(tampered.settled).toMatchObject({ state: 'failed', reason: 'mac_mismatch' })
		const gone = await receive({
			kind: 'document',
			file: held,
			mimetype: 'application/pdf',
			fileName: 'gone.pdf',
			expired: 404,
			reupload: 'NOT_FOUND',
		})
		expect(gone.settled).toMatchObject({ state: 'failed', reason: 'expired: re-upload failed' })
		expect((await api.get(`/media/${gone.message.media!.id}`)).status).toBe(409)
		// A sound copy is fetched, checked and stored, on the bytes the tenant holds already.
		const sound = await receive({ kind: 'document', file: held, mimetype: 'application/pdf', fileName: 'copy.pdf' })
		expect(sound.settled).toMatchObject({ state: 'stored', sha256: sha256(held) })
		expect(sha256(new Uint8Array(await (await api.fetch(`/media/${sound.message.media!.id}`)).arrayBuffer()))).toBe(sha256(held))
	})

	it('recovers an expired file through a re-upload request to the phone', async () => {
		const file = randomBytes(50_000)
		const { delivered, settled } = await receive({ kind: 'image', file, mimetype: 'image/jpeg', expired: 410 })
		expect(settled).toMatchObject({ state: 'stored', sha256: sha256(file) })
		expect(
			world.events.eventsOf(sessionId, 'session.media.updated').some((e) => e.data.message.id === delivered.id && e.data.state === 'expired'),
		).toBe(true)
	})

	it('gives an expired file up when the phone cannot upload it again, and says why', async () => {
		const { settled } = await receive({ kind: 'document', file: randomBytes(10_000), fileName: 'gone.pdf', expired: 404, reupload: 'NOT_FOUND' })
		expect(settled).toMatchObject({ state: 'failed', reason: 'expired: re-upload failed' })
	})

	it("answers 404 for another tenant's file", async () => {
		const { message } = await receive({ kind: 'sticker', file: randomBytes(5_000), mimetype: 'image/webp' })
		const mallory = clientFor(world.app, await createVerifiedUser(world.app))
		expect((await mallory.get(`/media/${message.media!.id}`)).status).toBe(404)
	})
})

describe('downloads cut short', () => {
	it('fetches a file whose download never finished once the session connects again', async () => {
		const file = randomBytes(30_000)
		const { message } = await receive({ kind: 'image', file, mimetype: 'image/jpeg' })
		await api.post(`/sessions/${sessionId}/stop`)
		await untilStatus(api, sessionId, 'stopped')
		// As a runner that died mid-download leaves it.
		await world.app.server.database.db.execute(sql`update media set state = 'pending' where id = ${message.media!.id}`)
		const after = world.events.events.length
		await api.post(`/sessions/${sessionId}/start`)
		const settled = await world.events.waitFor('session.media.updated', sessionId, { after, where: (e) => e.data.id === message.media?.id })
		expect(settled.data).toMatchObject({ state: 'stored', sha256: sha256(file) })
	})
})
