import { afterAll, beforeAll, describe, expect, it } from 'bun:test'
import { randomBytes } from 'node:crypto'
import { readdirSync } from 'node:fs'
import { createVerifiedUser, expectError } from '../helpers/accounts'
import { startTestApp, type TestApp } from '../helpers/app'
import { clientFor, type Client } from '../helpers/sessions'

// Each account may keep 10,000 bytes of files.
const QUOTA = 10_000
let app: TestApp

beforeAll(async () => {
	app = await startTestApp({ ROLES: 'api', MEDIA_QUOTA_BYTES: String(QUOTA) })
})
afterAll(() => app.close())

const newAccount = async () => clientFor(app, await createVerifiedUser(app))
const raw = (api: Client, bytes: Uint8Array) => api.fetch('/media', { method: 'POST', headers: { 'content-type': 'image/jpeg' }, body: bytes })
const multipart = (api: Client, bytes: Uint8Array) => {
	const form = new FormData()
	form.append('file', new File([bytes], 'photo.jpg', { type: 'image/jpeg' }))
	return api.fetch('/media', { method: 'POST', body: form })
}
async function upload(api: Client, bytes: Uint8Array): Promise<string> {
	const res = await raw(api, bytes)
	expect(res.status).toBe(201)
	return ((await res.json()) as { id: string }).id
}
/** Objects in the media folder: a refused upload leaves none behind. */
const objects = () => {
	if (app.config.media.store.kind !== 'fs') throw new Error('these tests read the file store')
	return readdirSync(app.config.media.store.dir, { recursive: true, withFileTypes: true }).filter((e) => e.isFile()).length
}

describe('MEDIA_QUOTA_BYTES', () => {
	it('refuses an upload that does not fit with 409 MEDIA_QUOTA_EXCEEDED, stores nothing of it, and takes what fits', async () => {
		const alice = await newAccount()
		await upload(alice, randomBytes(6_000))
		const before = objects()
		for (const send of [raw, multipart]) {
			const refused = await expectError(await send(alice, randomBytes(5_000)), 409, 'MEDIA_QUOTA_EXCEEDED')
			expect(refused.details).toEqual({ quotaBytes: QUOTA, usedBytes: 6_000 })
			expect(refused.message).toContain('delete uploads or messages with files to make room')
		}
		expect(objects()).toBe(before)
		await upload(alice, randomBytes(4_000))
		// Full: the next upload is refused before its body is read.
		const full = await expectError(await raw(alice, randomBytes(1)), 409, 'MEDIA_QUOTA_EXCEEDED')
		expect(full.details).toEqual({ quotaBytes: QUOTA, usedBytes: QUOTA })
	})

	it('counts a content stored once however many uploads name it', async () => {
		const bob = await newAccount()
		const photo = randomBytes(4_000)
		await upload(bob, photo)
		await upload(bob, photo)
		await upload(bob, randomBytes(6_000))
	})

	it('gives the room of a deleted upload back at once', async () => {
		const carol = await newAccount()
		const big = await upload(carol, randomBytes(9_000))
		await expectError(await raw(carol, randomBytes(2_000)), 409, 'MEDIA_QUOTA_EXCEEDED')
		expect((await carol.delete(`/media/${big}`)).status).toBe(204)
		await upload(carol, randomBytes(2_000))
	})

	it('counts each account apart', async () => {
		const dave = await newAccount()
		const erin = await newAccount()
		await upload(dave, randomBytes(QUOTA))
		await expectError(await raw(dave, randomBytes(10)), 409, 'MEDIA_QUOTA_EXCEEDED')
		await upload(erin, randomBytes(QUOTA))
	})
})
