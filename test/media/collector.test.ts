import { afterAll, beforeAll, describe, expect, it } from 'bun:test'
import { randomBytes } from 'node:crypto'
import { existsSync } from 'node:fs'
import { join } from 'node:path'
import { and, eq } from 'drizzle-orm'
import { mediaBlobs } from '../../src/db/schema'
import { collectUnusedMedia } from '../../src/media/collector'
import { createMediaStore } from '../../src/media'
import { type Client, pairedSession, type SessionsWorld, startSessionsWorld } from '../helpers/sessions'
import { until } from '../helpers/until'

/**
 * Stored objects outlive nothing that names them: a deleted session's files go, and the object
 * goes once no other file of the tenant names it (the same bytes received by two sessions are one
 * object). The collector runs every second here, with no grace period.
 */

const CONTACT = '4915100000303'
let world: SessionsWorld
let api: Client

beforeAll(async () => {
	world = await startSessionsWorld({ MEDIA_COLLECT_INTERVAL_SECONDS: '1', MEDIA_COLLECT_GRACE_SECONDS: '0' })
	api = await world.tenant()
})
afterAll(() => world?.close())

/** The contact sends `file` to `phone`; resolves with the media id (and the message's) once it is stored. */
async function receive(sessionId: string, phone: string, file: Uint8Array): Promise<{ id: string; messageId: string }> {
	const after = world.events.events.length
	const delivered = await world.standIn.deliverContent({
		to: phone,
		from: CONTACT,
		kind: 'document',
		file,
		mimetype: 'application/pdf',
		fileName: 'a.pdf',
	})
	const upsert = await world.events.waitFor('session.messages.upsert', sessionId, {
		after,
		where: (e) => e.data.messages.some((m) => m.key.id === delivered.id),
	})
	const id = upsert.data.messages.find((m) => m.key.id === delivered.id)!.media!.id
	await world.events.waitFor('session.media.updated', sessionId, {
		after,
		where: (e) => e.data.id === id && e.data.state === 'stored',
		timeoutMs: 20_000,
	})
	return { id, messageId: delivered.id }
}

const sha256Of = (file: Uint8Array) => new Bun.CryptoHasher('sha256').update(file).digest('hex')

const db = () => world.app.server.database.db
const dir = () => (world.app.config.media.store as { dir: string }).dir

async function objectOf(sha256: string) {
	const [row] = await db()
		.select()
		.from(mediaBlobs)
		.where(and(eq(mediaBlobs.tenantId, api.user.user.tenantId), eq(mediaBlobs.sha256, sha256)))
	return row
}

async function deleteSession(id: string) {
	expect((await api.delete(`/sessions/${id}`)).status).toBe(202)
}

describe('unused media objects', () => {
	it('go once the last session whose files name them is deleted, and not before', async () => {
		const first = await pairedSession(world, api, '4915100000301')
		const second = await pairedSession(world, api, '4915100000302')
		const file = randomBytes(50_000)
		const { id: one } = await receive(first.id, '4915100000301', file)
		const { id: two } = await receive(second.id, '4915100000302', file)
		const sha256 = sha256Of(file)
		const object = await objectOf(sha256)
		expect(object).toBeDefined()
		const path = join(dir(), object!.storageKey)
		expect(existsSync(path)).toBe(true)

		await deleteSession(first.id)
		await until(async () => (await api.get(`/media/${one}`)).status === 404, 'the first session’s file to be gone')
		// A collection now (the background one may not have run since): the second file still names the object.
		await collectUnusedMedia(db(), createMediaStore(world.app.config.media), 0)
		expect(await objectOf(sha256)).toBeDefined()
		expect(existsSync(path)).toBe(true)
		const served = await api.fetch(`/media/${two}`)
		expect(served.status).toBe(200)
		expect(new Uint8Array(await served.arrayBuffer())).toEqual(new Uint8Array(file))

		await deleteSession(second.id)
		await until(async () => !(await objectOf(sha256)) && !existsSync(path), 'the object to be removed')
		expect((await api.get(`/media/${two}`)).status).toBe(404)
	})

	it('go when the message of their only file is deleted for everyone', async () => {
		const phone = '4915100000304'
		const session = await pairedSession(world, api, phone)
		const file = randomBytes(20_000)
		const { id, messageId } = await receive(session.id, phone, file)
		const object = await objectOf(sha256Of(file))
		const path = join(dir(), object!.storageKey)
		expect(existsSync(path)).toBe(true)

		await world.standIn.deliverContent({ to: phone, from: CONTACT, kind: 'delete', target: { id: messageId } })
		await until(async () => (await api.get(`/media/${id}`)).status === 404, 'the deleted message’s file to be gone')
		await until(async () => !(await objectOf(sha256Of(file))) && !existsSync(path), 'the object to be removed')
	})
})
