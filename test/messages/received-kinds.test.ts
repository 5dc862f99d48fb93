import { afterAll, beforeAll, describe, expect, it } from 'bun:test'
import { createHash, randomBytes } from 'node:crypto'
import type { ContentSpec } from '@switchboard/standin'
import { proto } from '@whiskeysockets/baileys'
import { type Client, pairedSession, type SessionsWorld, startSessionsWorld } from '../helpers/sessions'
import { until } from '../helpers/until'
import { openSocket, type TestSocket, type WsMessage } from '../helpers/ws'

/**
 * Every kind a phone sends, through the real Baileys socket: typed on the WebSocket as it happens,
 * and shown the same by GET /chats/:jid/messages once stored, with what happened to the message
 * since (reactions, votes, edits, deletes).
 */

const PHONE = '4915100000601'
const FRIEND = '4915100000602'
const CHAT = `${FRIEND}@s.whatsapp.net`
let world: SessionsWorld
let api: Client
let ws: TestSocket
let me: string

beforeAll(async () => {
	world = await startSessionsWorld()
	api = await world.tenant()
	me = (await pairedSession(world, api, PHONE)).jid!
	ws = openSocket(world.app.url, { accessToken: api.user.accessToken })
	await ws.next((m) => m.type === 'session.snapshot')
})
afterAll(async () => {
	ws?.close()
	await world?.close()
})

const sha256 = (b: Uint8Array | string) => createHash('sha256').update(b).digest('hex')
const pick = (o: Record<string, unknown>, keys: string[]) => Object.fromEntries(keys.map((k) => [k, o[k]]))

/** Waits for the WebSocket's event of `type` that names message `id`. */
const onSocket = (type: string, id: string): Promise<WsMessage> =>
	ws.next((m) => m.type === type && JSON.stringify(m.data).includes(`"id":"${id}"`), 15_000)

/** The message as GET /chats/:jid/messages shows it, once `ready` holds for it. */
function shown(id: string, ready: (m: Record<string, any>) => boolean = () => true) {
	let last: unknown
	return until(async () => {
		const res = await api.get(`/chats/${CHAT}/messages?limit=100`)
		const found = res.body.items?.find((m: { id: string }) => m.id === id)
		if (found && !ready(found)) last = found
		return found && ready(found) && found
	}, `message ${id} as expected`).catch((err: Error) => {
		throw new Error(`${err.message}; last seen as ${JSON.stringify(last)}`)
	})
}

/** Answers message `id` through the API; resolves with the quote WhatsApp got, as JSON (bytes in base64). */
async function quoteOfAReplyTo(id: string) {
	const res = await api.post(`/chats/${CHAT}/messages`, { text: 'about that', replyTo: id })
	expect(res.status).toBe(202)
	const sent = await world.standIn.waitForSent((m) => m.id === res.body.messageId)
	return proto.Message.fromObject(sent.message?.extendedTextMessage?.contextInfo?.quotedMessage ?? {}).toJSON()
}

/** Delivers `spec` from the friend; resolves with its id and the WebSocket's message. */
async function receive(spec: ContentSpec, id?: string) {
	const delivered = await world.standIn.deliverContent({ to: PHONE, from: FRIEND, ...spec, ...(id ? { id } : {}) })
	return { id: delivered.id, live: (await onSocket('session.messages.upsert', delivered.id)).data.messages[0] }
}

describe('received kinds', () => {
	it('a voice note: its file by reference, live and stored, with length and waveform; the bytes once stored', async () => {
		const file = randomBytes(20_000)
		const waveform = Uint8Array.from({ length: 64 }, (_, i) => i)
		const { id, live } = await receive({ kind: 'voice', file, mimetype: 'audio/ogg; codecs=opus', seconds: 7, waveform })
		expect(live).toMatchObject({ kind: 'voice', media: { kind: 'audio', ptt: true, seconds: 7, state: 'pending', sha256: sha256(file) } })
		const stored = await onSocket('session.media.updated', live.media.id)
		expect(stored.data).toMatchObject({ id: live.media.id, state: 'stored' })
		const message = await shown(id, (m) => m.media?.state === 'stored')
		expect(message).toMatchObject({
			kind: 'voice',
			media: { id: live.media.id, kind: 'audio', mimetype: 'audio/ogg; codecs=opus', size: 20_000, seconds: 7, ptt: true, state: 'stored' },
		})
		expect(message.media.waveform).toBe(Buffer.from(waveform).toString('base64'))
		expect(sha256(new Uint8Array(await (await api.fetch(`/media/${live.media.id}`)).arrayBuffer()))).toBe(sha256(file))
	})

	it.each([
		['a gif', { kind: 'gif', file: randomBytes(5_000), mimetype: 'video/mp4', seconds: 3 }, { kind: 'gif', media: { kind: 'video', gif: true } }],
		[
			'an animated sticker',
			{ kind: 'sticker', file: randomBytes(5_000), mimetype: 'image/webp', isAnimated: true },
			{ kind: 'sticker', media: { kind: 'sticker', animated: true } },
		],
		[
			'a document with its name and pages',
			{ kind: 'document', file: randomBytes(5_000), mimetype: 'application/pdf', fileName: 'terms.pdf', pageCount: 3 },
			{ kind: 'document', media: { kind: 'document', fileName: 'terms.pdf', pages: 3 } },
		],
		[
			'a location',
			{ kind: 'location', latitude: 48.8584, longitude: 2.2945, name: 'Tour Eiffel', address: 'Paris' },
			{ kind: 'location', location: { latitude: 48.8584, longitude: 2.2945, name: 'Tour Eiffel', address: 'Paris' }, media: null },
		],
		[
			'a live location, as where it started, with its caption as the text',
			{ kind: 'live-location', latitude: 1.5, longitude: 2.5, caption: 'on my way' },
			{ kind: 'location', location: { latitude: 1.5, longitude: 2.5, live: true }, text: 'on my way' },
		],
		[
			'two contact cards',
			{ kind: 'contacts', contacts: [{ name: 'Ada', phone: '+44 20 7946 0000' }, { name: 'Bob' }] },
			{ kind: 'contacts', contacts: [{ name: 'Ada', vcard: expect.stringContaining('BEGIN:VCARD') }, { name: 'Bob' }] },
		],
	] as const)('%s', async (_, spec, expected) => {
		const { id, live } = await receive(spec as ContentSpec)
		expect(live).toMatchObject({ kind: expected.kind })
		expect(await shown(id)).toMatchObject(expected)
	})

	it('a reply names the message it quotes', async () => {
		const first = await receive({ kind: 'location', latitude: 1, longitude: 1 })
		const { id, live } = await receive({ kind: 'reply', target: { id: first.id }, text: 'meet me here' })
		expect(live).toMatchObject({ kind: 'text', text: 'meet me here', replyTo: { id: first.id } })
		expect(await shown(id)).toMatchObject({ kind: 'text', text: 'meet me here', replyTo: { id: first.id } })
	})

	it('reactions: the friend’s and its removal, and this account’s own', async () => {
		const { id } = await receive({ kind: 'location', latitude: 2, longitude: 2 })
		const reacted = await world.standIn.deliverContent({ to: PHONE, from: FRIEND, kind: 'reaction', target: { id }, emoji: '❤️' })
		expect((await onSocket('session.messages.update', id)).data.updates[0]).toMatchObject({ key: { id }, reaction: { emoji: '❤️', sender: CHAT } })
		expect(reacted.id).toBeTruthy()
		expect((await shown(id, (m) => m.reactions.length === 1)).reactions).toEqual([{ sender: CHAT, emoji: '❤️', at: expect.any(String) }])

		await api.post(`/chats/${CHAT}/messages`, { reaction: { messageId: id, emoji: '👍' } })
		await shown(id, (m) => m.reactions.length === 2)
		await world.standIn.deliverContent({ to: PHONE, from: FRIEND, kind: 'reaction', target: { id }, emoji: '' })
		const after = await shown(id, (m) => m.reactions.length === 1)
		expect(after.reactions).toEqual([{ sender: me, emoji: '👍', at: expect.any(String) }])
	})

	it('a poll, with the votes counted as they change', async () => {
		const { id, live } = await receive({ kind: 'poll', name: 'Which day?', options: ['Mon', 'Tue', 'Wed'], selectableCount: 2 })
		expect(live).toMatchObject({ kind: 'poll', poll: { question: 'Which day?', options: ['Mon', 'Tue', 'Wed'], selectableCount: 2 } })
		await world.standIn.deliverContent({ to: PHONE, from: FRIEND, kind: 'poll-vote', poll: { id }, options: ['Mon', 'Wed'] })
		const voted = await shown(id, (m) => m.poll.votes.length === 1)
		expect(voted.poll).toEqual({
			question: 'Which day?',
			options: [
				{ name: 'Mon', votes: 1 },
				{ name: 'Tue', votes: 0 },
				{ name: 'Wed', votes: 1 },
			],
			selectableCount: 2,
			votes: [{ voter: CHAT, options: ['Mon', 'Wed'], at: expect.any(String) }],
		})
		await world.standIn.deliverContent({ to: PHONE, from: FRIEND, kind: 'poll-vote', poll: { id }, options: ['Tue'] })
		const changed = await shown(id, (m) => m.poll.options[1].votes === 1)
		expect(changed.poll.options).toEqual([
			{ name: 'Mon', votes: 0 },
			{ name: 'Tue', votes: 1 },
			{ name: 'Wed', votes: 0 },
		])
	})

	it('a caption edit keeps the photo whole: its content, the quote of a reply to it, and its file', async () => {
		const file = randomBytes(4_000)
		const photo = await receive({ kind: 'image', file, mimetype: 'image/jpeg', caption: 'old cap' })
		const before = await shown(photo.id, (m) => m.media?.state === 'stored')
		// What a phone sends for a caption edit: the caption alone, no file.
		await world.standIn.deliverContent({
			to: PHONE,
			from: FRIEND,
			kind: 'edit',
			target: { id: photo.id },
			message: { imageMessage: { caption: 'new cap' } },
		})
		const after = await shown(photo.id, (m) => m.text === 'new cap')
		expect(after).toMatchObject({
			kind: 'image',
			type: 'imageMessage',
			editedAt: expect.any(String),
			media: { id: photo.live.media.id, state: 'stored' },
		})
		const { caption: _, ...whole } = before.content.imageMessage
		expect(whole).toMatchObject({ url: expect.any(String), mediaKey: expect.any(String), mimetype: 'image/jpeg', directPath: expect.any(String) })
		expect(after.content).toEqual({ ...before.content, imageMessage: { ...whole, caption: 'new cap' } })

		const quote = await quoteOfAReplyTo(photo.id)
		expect(quote.imageMessage).toMatchObject({ ...pick(whole, ['url', 'mediaKey', 'mimetype', 'directPath', 'fileSha256']), caption: 'new cap' })
		expect(sha256(new Uint8Array(await (await api.fetch(`/media/${photo.live.media.id}`)).arrayBuffer()))).toBe(sha256(file))
	})

	it('an edit that reaches the session before its photo is set into the photo when it comes', async () => {
		const id = `3A${randomBytes(9).toString('hex').toUpperCase()}`
		await world.standIn.deliverContent({ to: PHONE, from: FRIEND, kind: 'edit', target: { id }, message: { imageMessage: { caption: 'new cap' } } })
		await onSocket('session.messages.update', id)
		const file = randomBytes(4_000)
		const photo = await receive({ kind: 'image', file, mimetype: 'image/jpeg', caption: 'old cap' }, id)
		const message = await shown(id, (m) => m.media?.state === 'stored')
		expect(message).toMatchObject({ kind: 'image', text: 'new cap', editedAt: expect.any(String) })
		expect(message.content.imageMessage).toMatchObject({ mediaKey: expect.any(String), mimetype: 'image/jpeg', caption: 'new cap' })
		expect((await quoteOfAReplyTo(id)).imageMessage).toMatchObject({ mediaKey: message.content.imageMessage.mediaKey, caption: 'new cap' })
		expect(sha256(new Uint8Array(await (await api.fetch(`/media/${photo.live.media.id}`)).arrayBuffer()))).toBe(sha256(file))
	})

	it('an edit and a delete for everyone by the friend; a deleted file is no longer served', async () => {
		const { id } = await receive({ kind: 'reply', target: { id: 'NONE' }, text: 'Meet at 5', quotedMessage: { conversation: 'when?' } })
		await world.standIn.deliverContent({ to: PHONE, from: FRIEND, kind: 'edit', target: { id }, text: 'Meet at 6' })
		expect(await shown(id, (m) => m.text === 'Meet at 6')).toMatchObject({ editedAt: expect.any(String), kind: 'text', type: 'extendedTextMessage' })
		// The phone sent the new text as a plain conversation; the message stays the reply it was.
		expect(await quoteOfAReplyTo(id)).toEqual({ extendedTextMessage: { text: 'Meet at 6' } })

		const photo = await receive({ kind: 'image', file: randomBytes(3_000), mimetype: 'image/jpeg', caption: 'oops' })
		await onSocket('session.media.updated', photo.live.media.id)
		await world.standIn.deliverContent({ to: PHONE, from: FRIEND, kind: 'delete', target: { id: photo.id } })
		const gone = await shown(photo.id, (m) => m.revoked)
		expect(gone).toMatchObject({ revoked: true, text: null, media: null, kind: 'image' })
		expect((await api.fetch(`/media/${photo.live.media.id}`)).status).toBe(404)
	})
})
