import { afterAll, beforeAll, describe, expect, it } from 'bun:test'
import { createHash, randomBytes } from 'node:crypto'
import { expectError } from '../helpers/accounts'
import { type Client, pairedSession, type SessionsWorld, startSessionsWorld } from '../helpers/sessions'

/** MEDIA_DOWNLOAD=on_demand: received files wait until a client asks for them. */

const PHONE = '4915100000501'
const CONTACT = '4915100000502'
let world: SessionsWorld
let api: Client
let sessionId: string

beforeAll(async () => {
	world = await startSessionsWorld({ MEDIA_DOWNLOAD: 'on_demand' })
	api = await world.tenant()
	sessionId = (await pairedSession(world, api, PHONE)).id
})
afterAll(() => world?.close())

const sha256 = (b: Uint8Array) => createHash('sha256').update(b).digest('hex')
const request = (id: string) => api.fetch(`/media/${id}/download`, { method: 'POST' })

describe('on demand', () => {
	it('keeps a received file pending until POST /media/:id/download, then stores and serves it', async () => {
		const file = randomBytes(80_000)
		const delivered = await world.standIn.deliverContent({ to: PHONE, from: CONTACT, kind: 'image', file, mimetype: 'image/jpeg' })
		const upsert = await world.events.waitFor('session.messages.upsert', sessionId, {
			where: (e) => e.data.messages.some((m) => m.key.id === delivered.id),
		})
		const mediaId = upsert.data.messages.find((m) => m.key.id === delivered.id)!.media!.id
		const waiting = await api.fetch(`/media/${mediaId}`)
		const error = await expectError(waiting, 409, 'MEDIA_NOT_STORED')
		expect(error.message).toContain(`POST /media/${mediaId}/download`)

		const res = await request(mediaId)
		expect(res.status).toBe(202)
		expect(await res.json()).toEqual({ id: mediaId, state: 'pending' })
		const settled = await world.events.waitFor('session.media.updated', sessionId, { where: (e) => e.data.id === mediaId })
		expect(settled.data).toMatchObject({ state: 'stored', sha256: sha256(file) })
		expect(sha256(new Uint8Array(await (await api.fetch(`/media/${mediaId}`)).arrayBuffer()))).toBe(sha256(file))
		// Stored: asking again fetches nothing.
		expect(await (await request(mediaId)).json()).toEqual({ id: mediaId, state: 'stored' })
	})

	it('refuses an upload, an unknown id and another tenant’s file', async () => {
		const upload = await api.fetch('/media', { method: 'POST', headers: { 'content-type': 'image/png' }, body: randomBytes(100) })
		const { id } = (await upload.json()) as { id: string }
		await expectError(await request(id), 409, 'MEDIA_NOT_DOWNLOADABLE')
		await expectError(await request('0197f0c2-3a4b-7c5d-8e9f-0a1b2c3d4e5f'), 404, 'NOT_FOUND')
		await expectError(await request('not-a-uuid'), 400, 'VALIDATION_FAILED')
		const other = await world.tenant()
		await expectError(await other.fetch(`/media/${id}/download`, { method: 'POST' }), 404, 'NOT_FOUND')
	})
})
