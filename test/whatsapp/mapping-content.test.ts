import { describe, expect, it } from 'bun:test'
import { proto } from '@whiskeysockets/baileys'
import { incomingMediaId } from '../../src/core/media'
import { describe as describeContent, reactionOf } from '../../src/whatsapp/mapping/content'

/** Baileys' own proto messages → the catalogue's typed fields. */

const owner = { sessionId: '01970000-0000-7000-8000-0000000000a1', messageId: '3A0001', fromMe: false }
const mediaId = incomingMediaId(owner.sessionId, owner.messageId, owner.fromMe)
const sha = new Uint8Array(32).fill(0xab)
const of = (content: proto.IMessage) => describeContent(proto.Message.fromObject(content), owner)

describe('typed message content', () => {
	it('tells text apart, with the quoted message of a reply', () => {
		expect(of({ conversation: 'hi' })).toEqual({ kind: 'text' })
		expect(of({ extendedTextMessage: { text: 'yes', contextInfo: { stanzaId: '3A0000', participant: '4915100000001:2@s.whatsapp.net' } } })).toEqual({
			kind: 'text',
			replyTo: { id: '3A0000', participant: '4915100000001@s.whatsapp.net' },
		})
	})

	it('describes an image by reference, with its announced size, hash and dimensions', () => {
		expect(of({ imageMessage: { mimetype: 'image/jpeg', fileLength: 12345, fileSha256: sha, width: 640, height: 480, caption: 'look' } })).toEqual({
			kind: 'image',
			media: { id: mediaId, kind: 'image', mimetype: 'image/jpeg', state: 'pending', size: 12345, sha256: 'ab'.repeat(32), width: 640, height: 480 },
		})
	})

	it('tells a gif from a video, and a voice note (with its waveform) from audio', () => {
		expect(of({ videoMessage: { mimetype: 'video/mp4', seconds: 3, gifPlayback: true } }).kind).toBe('gif')
		expect(of({ videoMessage: { mimetype: 'video/mp4', seconds: 30 } })).toMatchObject({ kind: 'video', media: { kind: 'video', seconds: 30 } })
		expect(of({ audioMessage: { mimetype: 'audio/ogg; codecs=opus', seconds: 4, ptt: true, waveform: new Uint8Array([1, 2, 3]) } })).toMatchObject({
			kind: 'voice',
			media: { kind: 'audio', ptt: true, seconds: 4, waveform: 'AQID' },
		})
		expect(of({ audioMessage: { mimetype: 'audio/mpeg', seconds: 200 } })).toMatchObject({ kind: 'audio', media: { kind: 'audio', seconds: 200 } })
	})

	it('describes documents (with or without a caption wrapper) and animated stickers', () => {
		const doc = { mimetype: 'application/pdf', fileName: 'invoice.pdf', pageCount: 3 }
		expect(of({ documentMessage: doc })).toMatchObject({ kind: 'document', media: { kind: 'document', fileName: 'invoice.pdf', pages: 3 } })
		expect(of({ documentWithCaptionMessage: { message: { documentMessage: { ...doc, caption: 'see' } } } })).toMatchObject({ kind: 'document' })
		expect(of({ stickerMessage: { mimetype: 'image/webp', isAnimated: true } })).toMatchObject({
			kind: 'sticker',
			media: { kind: 'sticker', animated: true },
		})
	})

	it('describes locations (live ones flagged), contact cards and polls', () => {
		expect(of({ locationMessage: { degreesLatitude: 52.52, degreesLongitude: 13.405, name: 'Berlin', address: 'Mitte' } })).toEqual({
			kind: 'location',
			location: { latitude: 52.52, longitude: 13.405, name: 'Berlin', address: 'Mitte' },
		})
		expect(of({ liveLocationMessage: { degreesLatitude: 1, degreesLongitude: 2 } })).toEqual({
			kind: 'location',
			location: { latitude: 1, longitude: 2, live: true },
		})
		expect(of({ locationMessage: { degreesLatitude: 99, degreesLongitude: 0 } }).kind).toBe('other')
		expect(of({ locationMessage: { degreesLatitude: Number.NaN, degreesLongitude: 0 } }).kind).toBe('other')
		const vcard = 'BEGIN:VCARD\nVERSION:3.0\nFN:Ada\nTEL:+15550100001\nEND:VCARD'
		expect(of({ contactMessage: { displayName: 'Ada', vcard } })).toEqual({ kind: 'contacts', contacts: [{ name: 'Ada', vcard }] })
		expect(
			of({
				contactsArrayMessage: {
					contacts: [
						{ displayName: 'Ada', vcard },
						{ displayName: 'Bob', vcard },
					],
				},
			}).contacts,
		).toHaveLength(2)
		expect(
			of({ pollCreationMessageV3: { name: 'Lunch?', options: [{ optionName: 'Pizza' }, { optionName: 'Sushi' }], selectableOptionsCount: 1 } }),
		).toEqual({
			kind: 'poll',
			poll: { question: 'Lunch?', options: ['Pizza', 'Sushi'], selectableCount: 1 },
		})
	})

	it('keeps what it does not model as other', () => {
		expect(of({ buttonsMessage: { contentText: 'x' } }).kind).toBe('other')
	})

	it('gives no media reference without an owner to name the file after', () => {
		expect(describeContent(proto.Message.fromObject({ imageMessage: { mimetype: 'image/png' } }))).toEqual({ kind: 'image' })
	})
})

describe('reactions', () => {
	it('say who reacted to which message with what, an empty emoji taking it back', () => {
		const content = proto.Message.fromObject({
			reactionMessage: { key: { remoteJid: 'x@s.whatsapp.net', id: '3A0009', fromMe: true }, text: '👍', senderTimestampMs: 1_767_225_600_000 },
		})
		expect(reactionOf(content, '4915100000001@s.whatsapp.net', 0)).toEqual({
			target: expect.objectContaining({ id: '3A0009', fromMe: true }),
			reaction: { sender: '4915100000001@s.whatsapp.net', emoji: '👍', at: 1_767_225_600 },
		})
		const removed = proto.Message.fromObject({ reactionMessage: { key: { remoteJid: 'x@s.whatsapp.net', id: '3A0009' }, text: '' } })
		expect(reactionOf(removed, '4915100000001@s.whatsapp.net', 1_767_225_601)?.reaction.emoji).toBe('')
	})
})
