import { afterAll, beforeAll, describe, expect, it } from 'bun:test'
import { randomBytes } from 'node:crypto'
import { expectError } from '../helpers/accounts'
import { oggFixture, oggOpus, webp } from '../helpers/formats'
import { mp4 } from '../helpers/mp4'
import { until } from '../helpers/until'
import { sha256, upload } from '../helpers/uploads'
import { type Client, pairedSession, type SessionsWorld, startSessionsWorld } from '../helpers/sessions'

/**
 * Every kind a client can send, end to end: uploaded through POST /media, sent through the chat
 * route, encrypted and uploaded by the real Baileys socket, and read back by the stand-in, which
 * decrypts the file and checks it against the message's hashes.
 */

const PHONE = '4915100000301'
const FRIEND = '4915100000302'
const FRIEND_JID = `${FRIEND}@s.whatsapp.net`
let world: SessionsWorld
let api: Client
let sessionId: string

beforeAll(async () => {
	world = await startSessionsWorld()
	api = await world.tenant()
	sessionId = (await pairedSession(world, api, PHONE)).id
})
afterAll(() => world.close())

/** POST to the friend's chat, answering the raw response (for expectError). */
const post = (body: unknown) =>
	api.fetch(`/chats/${FRIEND_JID}/messages`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) })

/** Sends `body` to the friend's chat; resolves with what the stand-in recorded. */
async function send(body: Record<string, unknown>) {
	const res = await api.post(`/chats/${FRIEND_JID}/messages`, body)
	expect(res.status).toBe(202)
	return world.standIn.waitForSent((m) => m.id === res.body.messageId)
}

describe('sending files', () => {
	it.each([
		['an image with a caption', 'image', 'image/jpeg', { caption: 'the receipt' }, 'imageMessage'],
		['a video', 'video', 'video/mp4', {}, 'videoMessage'],
		['a document with its name', 'document', 'application/pdf', { fileName: 'invoice.pdf' }, 'documentMessage'],
		['an audio file', 'audio', 'audio/mpeg', {}, 'audioMessage'],
		['a voice note', 'audio', 'audio/ogg', { ptt: true }, 'audioMessage'],
		['a sticker', 'sticker', 'image/webp', {}, 'stickerMessage'],
	] as const)('sends %s whose bytes decrypt to the upload', async (_, kind, mimetype, extra, field) => {
		// A voice note and a sticker are checked for their format's first bytes; other kinds by their type alone.
		const file = 'ptt' in extra ? oggOpus(60_000) : kind === 'sticker' ? webp(60_000) : randomBytes(60_000)
		const sent = await send({ [kind]: { mediaId: await upload(api, file, mimetype) }, ...extra })
		expect(sent.media).toMatchObject({ field, uploaded: true, verified: true, sha256: sha256(file), size: file.byteLength })
		const content = sent.message?.[field] as Record<string, unknown>
		expect(content.mimetype).toBe('ptt' in extra ? 'audio/ogg; codecs=opus' : mimetype)
		if ('caption' in extra) expect(content.caption).toBe(extra.caption)
		if ('fileName' in extra) expect(content.fileName).toBe(extra.fileName)
		if ('ptt' in extra) expect(content.ptt).toBe(true)
		expect(sha256(await world.standIn.readSentMedia(sent.id))).toBe(sha256(file))
	})
})

describe('sending a video', () => {
	it('gives WhatsApp its length and picture size, read from the upload', async () => {
		const file = mp4({ seconds: 31, width: 1280, height: 720, moovLast: true })
		const sent = await send({ video: { mediaId: await upload(api, file, 'video/mp4') } })
		expect(sent.media).toMatchObject({ field: 'videoMessage', verified: true, sha256: sha256(file) })
		expect(sent.message?.videoMessage).toMatchObject({ seconds: 31, width: 1280, height: 720 })
	})
})

describe('sending a voice note', () => {
	/** 1.5 s of silence, then 1.5 s of a tone: made with sox and opusenc (24 kbit/s). */
	const note = oggFixture('voice-note')

	it('gives WhatsApp its length and the waveform of its audio, decoded at upload', async () => {
		const res = await api.fetch('/media', { method: 'POST', headers: { 'content-type': 'audio/ogg' }, body: note })
		expect(res.status).toBe(201)
		const uploaded = (await res.json()) as { id: string; seconds?: number; waveform?: string }
		expect(uploaded.seconds).toBe(3)
		const waveform = [...Buffer.from(uploaded.waveform ?? '', 'base64')]
		expect(waveform).toHaveLength(64)
		// Silent for the first half, loud for the second: the loudest sample is 100.
		expect(Math.max(...waveform.slice(0, 30))).toBeLessThan(5)
		expect(Math.min(...waveform.slice(34))).toBeGreaterThan(90)
		expect(Math.max(...waveform)).toBe(100)

		const after = world.events.events.length
		const sent = await send({ audio: { mediaId: uploaded.id }, ptt: true })
		expect(sent.media).toMatchObject({ field: 'audioMessage', verified: true, sha256: sha256(note) })
		const audio = sent.message?.audioMessage as { seconds?: number; ptt?: boolean; waveform?: Uint8Array }
		expect(audio).toMatchObject({ seconds: 3, ptt: true })
		expect([...(audio.waveform ?? [])]).toEqual(waveform)
		// The session's own event carries it as a received voice note's does.
		const upsert = await world.events.waitFor('session.messages.upsert', sessionId, {
			after,
			where: (e) => e.data.messages.some((m) => m.key.id === sent.id),
		})
		expect(upsert.data.messages.find((m) => m.key.id === sent.id)?.media).toMatchObject({ ptt: true, seconds: 3, waveform: uploaded.waveform })
	})

	it('uploads and sends an Ogg Opus file whose audio does not decode, without a waveform', async () => {
		const res = await api.fetch('/media', { method: 'POST', headers: { 'content-type': 'audio/ogg' }, body: oggOpus(20_000) })
		expect(res.status).toBe(201)
		const uploaded = (await res.json()) as Record<string, unknown>
		expect(uploaded).not.toHaveProperty('waveform')
		expect(uploaded).not.toHaveProperty('seconds')
		const sent = await send({ audio: { mediaId: uploaded.id }, ptt: true })
		expect(sent.message?.audioMessage?.waveform ?? null).toBeNull()
	})
})

describe('sending other kinds', () => {
	it('sends a location', async () => {
		const sent = await send({ location: { latitude: 52.52, longitude: 13.405, name: 'Office', address: 'Berlin' } })
		expect(sent.message?.locationMessage).toMatchObject({ degreesLatitude: 52.52, degreesLongitude: 13.405, name: 'Office', address: 'Berlin' })
	})

	it('sends contact cards as vCards', async () => {
		const sent = await send({ contacts: [{ name: 'Ada; Lovelace', phoneNumbers: ['+44 20 7946 0000'] }] })
		const card = sent.message?.contactMessage ?? sent.message?.contactsArrayMessage?.contacts?.[0]
		expect(card?.displayName).toBe('Ada; Lovelace')
		expect(card?.vcard).toContain('FN:Ada\\; Lovelace')
		expect(card?.vcard).toContain('TEL;type=CELL;waid=442079460000:+442079460000')
	})

	it('sends a poll', async () => {
		const sent = await send({ poll: { question: 'Lunch?', options: ['Pizza', 'Salad'], selectableCount: 1 } })
		const poll = sent.message?.pollCreationMessageV3 ?? sent.message?.pollCreationMessage
		expect(poll).toMatchObject({ name: 'Lunch?', options: [{ optionName: 'Pizza' }, { optionName: 'Salad' }], selectableOptionsCount: 1 })
	})

	it('sends a reply quoting the stored message, and a reaction to it and its removal', async () => {
		const delivered = await world.standIn.deliverText({ to: PHONE, from: FRIEND, text: 'Where is my order?' })
		await until(async () => {
			const res = await api.get(`/chats/${FRIEND_JID}/messages?limit=50`)
			return res.body.items?.some((m: { id: string }) => m.id === delivered.id)
		}, 'the delivered message in the chat')

		const reply = await send({ text: 'On its way', replyTo: delivered.id })
		const context = reply.message?.extendedTextMessage?.contextInfo
		expect(reply.message?.extendedTextMessage?.text).toBe('On its way')
		expect(context).toMatchObject({ stanzaId: delivered.id, participant: FRIEND_JID, quotedMessage: { conversation: 'Where is my order?' } })

		const reaction = await send({ reaction: { messageId: delivered.id, emoji: '👍' } })
		expect(reaction.message?.reactionMessage).toMatchObject({ text: '👍', key: { id: delivered.id, fromMe: false, remoteJid: FRIEND_JID } })
		const removal = await send({ reaction: { messageId: delivered.id, emoji: '' } })
		expect(removal.message?.reactionMessage).toMatchObject({ text: '', key: { id: delivered.id } })
	})
})

describe('refusing what cannot be sent, before anything goes out', () => {
	const before = () => world.standIn.sent().length

	it.each([
		['an unknown upload', async () => ({ image: { mediaId: '0197f0c2-3a4b-7c5d-8e9f-0a1b2c3d4e5f' } }), 404, 'MEDIA_NOT_FOUND'],
		[
			'a PDF as an image',
			async () => ({ image: { mediaId: await upload(api, randomBytes(100), 'application/pdf') } }),
			415,
			'UNSUPPORTED_MEDIA_TYPE',
		],
		[
			'bytes that only claim to be a voice note',
			async () => ({ audio: { mediaId: await upload(api, randomBytes(100), 'audio/ogg') }, ptt: true }),
			415,
			'UNSUPPORTED_MEDIA_TYPE',
		],
		[
			'bytes that only claim to be a sticker',
			async () => ({ sticker: { mediaId: await upload(api, randomBytes(100), 'image/webp') } }),
			415,
			'UNSUPPORTED_MEDIA_TYPE',
		],
		[
			'an mp3 as a voice note',
			async () => ({ audio: { mediaId: await upload(api, randomBytes(100), 'audio/mpeg') }, ptt: true }),
			415,
			'UNSUPPORTED_MEDIA_TYPE',
		],
		['a latitude out of range', async () => ({ location: { latitude: 91, longitude: 0 } }), 400, 'VALIDATION_FAILED'],
		['a reaction to an unknown message', async () => ({ reaction: { messageId: 'NOPE', emoji: '👍' } }), 404, 'MESSAGE_NOT_FOUND'],
		['a reply to an unknown message', async () => ({ text: 'hi', replyTo: 'NOPE' }), 404, 'MESSAGE_NOT_FOUND'],
		[
			// It would show on that message here, and reach this chat about a message it never had.
			'a reaction to a message of another chat',
			async () => {
				const other = '4915100000303@s.whatsapp.net'
				const sent = await api.post(`/chats/${other}/messages`, { text: 'in another chat' })
				await until(
					async () => (await api.get(`/chats/${other}/messages`)).body.items?.some((m: { id: string }) => m.id === sent.body.messageId),
					'the other chat’s message stored',
				)
				return { reaction: { messageId: sent.body.messageId, emoji: '👍' } }
			},
			404,
			'MESSAGE_NOT_FOUND',
		],
		['a caption on a location', async () => ({ location: { latitude: 1, longitude: 2 }, caption: 'x' }), 400, 'INVALID_CONTENT'],
		['a poll whose options repeat', async () => ({ poll: { question: 'Q', options: ['a', 'a'] } }), 400, 'INVALID_POLL'],
		['a poll whose question is blank', async () => ({ poll: { question: '  ', options: ['a', 'b'] } }), 400, 'INVALID_POLL'],
		['a poll with a blank option', async () => ({ poll: { question: 'Q', options: ['a', ' \n'] } }), 400, 'INVALID_POLL'],
		['a reaction that is not one emoji', async () => ({ reaction: { messageId: 'NOPE', emoji: 'hello world' } }), 400, 'INVALID_EMOJI'],
		['a field a message does not have (a misspelt caption)', async () => ({ text: 'hi', captoin: 'lost' }), 400, 'UNKNOWN_FIELD'],
	] as const)('refuses %s', async (_, body, status, code) => {
		const request = await body()
		const count = before()
		await expectError(await post(request), status, code)
		// A valid send after it arrives first: nothing was queued for the refused one.
		const next = await api.post(`/chats/${FRIEND_JID}/messages`, { text: 'after a refusal' })
		await world.standIn.waitForSent((m) => m.id === next.body.messageId)
		expect(world.standIn.sent().length).toBe(count + 1)
	})

	it('does not send another tenant’s upload', async () => {
		const other = await world.tenant()
		const res = await other.fetch('/media', { method: 'POST', headers: { 'content-type': 'image/jpeg' }, body: randomBytes(100) })
		const { id } = (await res.json()) as { id: string }
		await expectError(await post({ image: { mediaId: id } }), 404, 'MEDIA_NOT_FOUND')
	})
})
