import { afterAll, beforeAll, describe, expect, it } from 'bun:test'
import { createHash, randomBytes } from 'node:crypto'
import { type AnyEnvelope, command } from '../../src/core/catalogue'
import { newOutgoingMessageId } from '../../src/core/message-id'
import { collectUnusedMedia } from '../../src/media/collector'
import { createMediaStore } from '../../src/media'
import { expectError } from '../helpers/accounts'
import { oggOpus, webp } from '../helpers/formats'
import { type Client, pairedSession, type SessionsWorld, startSessionsWorld } from '../helpers/sessions'
import { until } from '../helpers/until'

/**
 * A file the account sends from an upload is the tenant's already: the message's file is stored
 * the moment the message is, under every MEDIA_DOWNLOAD, and nothing is fetched back from
 * WhatsApp's CDN. MEDIA_DOWNLOAD is about received files only.
 */

const PHONE = '4915100000601'
const FRIEND = '4915100000602'
const FRIEND_JID = `${FRIEND}@s.whatsapp.net`

const sha256 = (b: Uint8Array) => createHash('sha256').update(b).digest('hex')

describe.each(['off', 'on_demand', 'eager'] as const)('MEDIA_DOWNLOAD=%s', (mode) => {
	let world: SessionsWorld
	let api: Client
	let sessionId: string

	beforeAll(async () => {
		world = await startSessionsWorld({ MEDIA_DOWNLOAD: mode, MEDIA_COLLECT_GRACE_SECONDS: '0' })
		api = await world.tenant()
		sessionId = (await pairedSession(world, api, PHONE)).id
	})
	afterAll(() => world?.close())

	/** Uploads `file` as multipart with its name; the upload's id. */
	async function upload(file: Uint8Array, type: string, name: string): Promise<string> {
		const form = new FormData()
		form.append('file', new File([file], name, { type }))
		const res = await api.fetch('/media', { method: 'POST', body: form })
		expect(res.status).toBe(201)
		return ((await res.json()) as { id: string }).id
	}

	/** Sends `body` to the friend; the message's media as its upsert event carried it, once the stand-in has the message. */
	async function send(body: Record<string, unknown>) {
		const after = world.events.events.length
		const res = await api.post(`/chats/${FRIEND_JID}/messages`, body)
		expect(res.status).toBe(202)
		const messageId: string = res.body.messageId
		const upsert = await world.events.waitFor('session.messages.upsert', sessionId, {
			after,
			where: (e) => e.data.messages.some((m) => m.key.id === messageId),
		})
		const sent = await world.standIn.waitForSent((m) => m.id === messageId)
		return { messageId, media: upsert.data.messages.find((m) => m.key.id === messageId)!.media!, sent }
	}

	/** The message as GET /chats/:jid/messages shows it, once the consumer stored it. */
	const stored = (messageId: string) =>
		until(
			async () => (await api.get(`/chats/${FRIEND_JID}/messages?limit=50`)).body.items?.find((m: { id: string }) => m.id === messageId),
			'the sent message stored',
		)

	it('stores a voice note sent from an upload at once and serves the upload’s bytes, type and name', async () => {
		const file = oggOpus(40_000)
		const mediaId = await upload(file, 'audio/ogg', 'note.ogg')
		const downloads = world.standIn.core.log.list('media-download').length
		const { messageId, media, sent } = await send({ audio: { mediaId }, ptt: true })

		// The message's own file, stored already in the event that announces the message.
		expect(media.id).not.toBe(mediaId)
		expect(media).toMatchObject({ state: 'stored', size: file.byteLength, sha256: sha256(file) })
		expect((await stored(messageId)).media).toMatchObject({ id: media.id, state: 'stored', size: file.byteLength })

		const res = await api.fetch(`/media/${media.id}`)
		expect(res.status).toBe(200)
		expect(res.headers.get('content-type')).toBe('audio/ogg')
		expect(res.headers.get('content-disposition')).toBe("inline; filename*=UTF-8''note.ogg")
		expect(sha256(new Uint8Array(await res.arrayBuffer()))).toBe(sha256(file))
		// Nothing to download: POST /media/:id/download answers the state and queues nothing.
		expect(await (await api.fetch(`/media/${media.id}/download`, { method: 'POST' })).json()).toEqual({ id: media.id, state: 'stored' })

		// A file received after it is downloaded (eager) or not; either way the sent one never was.
		const received = await world.standIn.deliverContent({ to: PHONE, from: FRIEND, kind: 'image', file: randomBytes(5_000), mimetype: 'image/jpeg' })
		const upsert = await world.events.waitFor('session.messages.upsert', sessionId, {
			where: (e) => e.data.messages.some((m) => m.key.id === received.id),
		})
		if (mode === 'eager') {
			const id = upsert.data.messages.find((m) => m.key.id === received.id)!.media!.id
			await world.events.waitFor('session.media.updated', sessionId, { where: (e) => e.data.id === id && e.data.state === 'stored' })
		}
		const fetched = world.standIn.core.log.list('media-download').slice(downloads)
		expect(fetched.some((d) => sent.media!.directPath.startsWith(d.path))).toBe(false)
	})

	it('serves a document under the name it was sent with', async () => {
		const file = randomBytes(20_000)
		const { media } = await send({ document: { mediaId: await upload(file, 'application/pdf', 'scan.pdf') }, fileName: 'invoice.pdf' })
		expect(media.state).toBe('stored')
		const res = await api.fetch(`/media/${media.id}`)
		expect(res.headers.get('content-type')).toBe('application/pdf')
		expect(res.headers.get('content-disposition')).toBe("inline; filename*=UTF-8''invoice.pdf")
		expect(sha256(new Uint8Array(await res.arrayBuffer()))).toBe(sha256(file))
	})

	it('removes a deleted message’s file, for me and for everyone, and keeps the bytes the upload still names', async () => {
		const file = randomBytes(30_000)
		const mediaId = await upload(file, 'image/jpeg', 'photo.jpg')
		const first = await send({ image: { mediaId } })
		const second = await send({ image: { mediaId }, caption: 'again' })
		expect(first.media.id).not.toBe(second.media.id)
		await stored(first.messageId)
		await stored(second.messageId)

		expect((await api.fetch(`/chats/${FRIEND_JID}/messages/${first.messageId}?for=me`, { method: 'DELETE' })).status).toBe(204)
		await expectError(await api.fetch(`/media/${first.media.id}`), 404, 'NOT_FOUND')
		expect((await api.delete(`/chats/${FRIEND_JID}/messages/${second.messageId}`)).status).toBe(202)
		await until(async () => (await api.fetch(`/media/${second.media.id}`)).status === 404, 'the revoked message’s file gone')

		// No message names the bytes any more, but the upload does: the collector leaves them.
		const { db } = world.app.server.database
		await collectUnusedMedia(db, createMediaStore(world.app.config.media), 0)
		const res = await api.fetch(`/media/${mediaId}`)
		expect(res.status).toBe(200)
		expect(sha256(new Uint8Array(await res.arrayBuffer()))).toBe(sha256(file))
	})

	it.if(mode !== 'eager')('answers 409 for a received file not stored, with a hint only to a download the server makes', async () => {
		const received = await world.standIn.deliverContent({ to: PHONE, from: FRIEND, kind: 'image', file: randomBytes(5_000), mimetype: 'image/jpeg' })
		const upsert = await world.events.waitFor('session.messages.upsert', sessionId, {
			where: (e) => e.data.messages.some((m) => m.key.id === received.id),
		})
		const id = upsert.data.messages.find((m) => m.key.id === received.id)!.media!.id
		const error = await expectError(await api.fetch(`/media/${id}`), 409, 'MEDIA_NOT_STORED')
		if (mode === 'off') {
			expect(error.message).not.toContain('/download')
			expect(error.message).toContain('MEDIA_DOWNLOAD=off')
			await expectError(await api.fetch(`/media/${id}/download`, { method: 'POST' }), 409, 'MEDIA_DOWNLOAD_OFF')
		} else expect(error.message).toContain(`POST /media/${id}/download`)
	})

	// Once: the send is the same under every MEDIA_DOWNLOAD.
	it.if(mode === 'eager')('fails a send accepted before its upload was deleted with media_not_found, and sends nothing', async () => {
		const mediaId = await upload(randomBytes(3_000), 'image/jpeg', 'gone.jpg')
		expect((await api.delete(`/media/${mediaId}`)).status).toBe(204)
		// The command as the API enqueued it when it accepted the send, before the delete.
		const messageId = newOutgoingMessageId()
		await world.app.server.bus.publish([
			command(
				'session.messages.send',
				{ tenantId: api.user.user.tenantId, sessionId },
				{ messageId, to: FRIEND_JID, content: { image: { mediaId } } },
			),
		] as AnyEnvelope[])
		const failed = await world.events.waitFor('session.command.failed', sessionId, { where: (e) => e.data.messageId === messageId })
		expect(failed.data.error.code).toBe('media_not_found')
		expect(world.standIn.sent(PHONE).some((m) => m.id === messageId)).toBe(false)
	})

	it('keeps another tenant from the sent message’s file', async () => {
		const { media } = await send({ sticker: { mediaId: await upload(webp(3_000), 'image/webp', 's.webp') } })
		const other = await world.tenant()
		await expectError(await other.fetch(`/media/${media.id}`), 404, 'NOT_FOUND')
	})
})
