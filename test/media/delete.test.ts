import { afterAll, beforeAll, describe, expect, it } from 'bun:test'
import { randomBytes } from 'node:crypto'
import { existsSync } from 'node:fs'
import { join } from 'node:path'
import postgres from 'postgres'
import { createVerifiedUser, expectError } from '../helpers/accounts'
import { startTestApp, type TestApp } from '../helpers/app'
import { clientFor, type Client } from '../helpers/sessions'
import { until } from '../helpers/until'

/**
 * DELETE /media/:id: an upload is forgotten at once; its bytes go with the media collector's next
 * round (every second here, no grace) once no file names them. A message's file is not an upload.
 */

let app: TestApp
let alice: Client
let sql: postgres.Sql
let sessionId: string

beforeAll(async () => {
	app = await startTestApp({ ROLES: 'api', MEDIA_COLLECT_INTERVAL_SECONDS: '1', MEDIA_COLLECT_GRACE_SECONDS: '0' })
	alice = clientFor(app, await createVerifiedUser(app))
	sql = postgres(app.database.url, { max: 1, onnotice: () => {} })
	sessionId = (await alice.post('/sessions', {})).body.id
	// Connected, so a send gets as far as looking up its file.
	await sql`update sessions set status = 'connected' where id = ${sessionId}`
})
afterAll(async () => {
	await sql?.end({ timeout: 5 })
	await app?.close()
})

async function upload(bytes: Uint8Array): Promise<string> {
	const res = await alice.fetch('/media', { method: 'POST', headers: { 'content-type': 'image/jpeg' }, body: bytes })
	expect(res.status).toBe(201)
	return ((await res.json()) as { id: string }).id
}

/** Where the store keeps the bytes of this upload (the media folder of this app). */
async function objectOf(mediaId: string): Promise<string> {
	const [row] =
		await sql`select b.storage_key from media m join media_blobs b on b.tenant_id = m.tenant_id and b.sha256 = m.sha256 where m.id = ${mediaId}`
	if (app.config.media.store.kind !== 'fs') throw new Error('these tests read the file store')
	return join(app.config.media.store.dir, row!.storage_key as string)
}

describe('DELETE /media/:id', () => {
	it('forgets an upload: 204, then 404 to a download, to a second delete and to a send naming it, and its bytes go', async () => {
		const id = await upload(randomBytes(5_000))
		const object = await objectOf(id)
		expect(existsSync(object)).toBe(true)
		expect((await alice.delete(`/media/${id}`)).status).toBe(204)

		await expectError(await alice.fetch(`/media/${id}`), 404, 'NOT_FOUND')
		await expectError(await alice.fetch(`/media/${id}`, { method: 'DELETE' }), 404, 'NOT_FOUND')
		const send = await alice.fetch(`/sessions/${sessionId}/messages`, {
			method: 'POST',
			headers: { 'content-type': 'application/json' },
			body: JSON.stringify({ to: '+15550100001', image: { mediaId: id } }),
		})
		await expectError(send, 404, 'MEDIA_NOT_FOUND')
		await until(() => !existsSync(object), 'the media collector to remove the bytes')
	})

	it('keeps the bytes while another upload of the same file names them', async () => {
		const bytes = randomBytes(6_000)
		const [first, second] = [await upload(bytes), await upload(bytes)]
		const object = await objectOf(second)
		expect((await alice.delete(`/media/${first}`)).status).toBe(204)
		// A file of its own deleted after it: once its bytes are gone, a round has run since the first delete.
		const marker = await upload(randomBytes(4_000))
		const markerObject = await objectOf(marker)
		expect((await alice.delete(`/media/${marker}`)).status).toBe(204)
		await until(() => !existsSync(markerObject), 'a collector round after both deletes')

		expect(existsSync(object)).toBe(true)
		const res = await alice.fetch(`/media/${second}`)
		expect(res.status).toBe(200)
		expect(new Uint8Array(await res.arrayBuffer())).toEqual(new Uint8Array(bytes))
	})

	it("refuses a message's file with 409, naming the route that forgets it with its message", async () => {
		const id = Bun.randomUUIDv7()
		await sql`insert into media (id, tenant_id, origin, session_id, chat_jid, message_id, from_me, kind, mimetype, state)
			values (${id}, ${alice.user.user.tenantId}, 'incoming', ${sessionId}, '15550100002@s.whatsapp.net', 'M1', false, 'image', 'image/jpeg', 'pending')`
		const error = await expectError(await alice.fetch(`/media/${id}`, { method: 'DELETE' }), 409, 'MEDIA_IN_MESSAGE')
		expect(error.message).toContain('DELETE /chats/15550100002@s.whatsapp.net/messages/M1?for=me')
		expect((await sql`select 1 from media where id = ${id}`).length).toBe(1)
	})
})
