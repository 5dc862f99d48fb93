import { afterAll, beforeAll, describe, expect, it } from 'bun:test'
import { DOMAIN_EVENTS } from '../../src/core/streams'
import { pairedSession, startSessionsWorld, type Client, type SessionsWorld } from '../helpers/sessions'
import { until } from '../helpers/until'

/**
 * Values a sender's phone sets, as WhatsApp passes them on: a time in milliseconds where seconds
 * belong, sizes past a 32-bit column, a coordinate that is not a number, a roster of thousands.
 * Each message is stored, with what cannot be true left out; none takes the messages that travel
 * with it down, and nothing ends in the dead-letter stream.
 */

const PHONE = '15557800000'
const jid = (phone: string) => `${phone}@s.whatsapp.net`
let next = 0
/** A sender of its own for each case, so each chat holds only its case's messages. */
const sender = () => `1555781${String(++next).padStart(4, '0')}`

let world: SessionsWorld
let api: Client
let sessionId: string

beforeAll(async () => {
	// Entries that keep failing reach the dead-letter stream within a second or two, not minutes.
	world = await startSessionsWorld({ EVENT_CLAIM_IDLE_MS: '200' })
	api = await world.tenant()
	sessionId = (await pairedSession(world, api, PHONE)).id
})
afterAll(async () => {
	await world?.close()
})

interface Stored {
	id: string
	timestamp: string
	kind: string
	text: string | null
	media: Record<string, unknown> | null
	reactions: { emoji: string }[]
}

/** The message once the consumer stored it (and `ready` holds). */
const stored = (chat: string, id: string, ready: (m: Stored) => boolean = () => true) =>
	until(async () => {
		const { body } = await api.get(`/chats/${encodeURIComponent(chat)}/messages?limit=100`)
		return (body.items as Stored[] | undefined)?.find((m) => m.id === id && ready(m))
	}, `message ${id} in ${chat}`)

const nowSeconds = () => Math.floor(Date.now() / 1000)

describe('a message from WhatsApp', () => {
	it('timed in milliseconds is stored at its second', async () => {
		const from = sender()
		const sentAt = Date.now()
		const { id } = await world.standIn.deliverText({ to: PHONE, from, text: 'my clock counts in ms', timestamp: sentAt })
		const message = await stored(jid(from), id)
		expect(Date.parse(message.timestamp)).toBe(Math.floor(sentAt / 1000) * 1000)
	})

	it('with a file whose announced size fields overflow is stored, without them', async () => {
		const from = sender()
		const image = await world.standIn.deliverContent({
			to: PHONE,
			from,
			kind: 'image',
			file: new Uint8Array(100).fill(1),
			mimetype: 'image/jpeg',
			width: 3_000_000_000,
			height: 10,
		})
		const video = await world.standIn.deliverContent({
			to: PHONE,
			from,
			kind: 'video',
			file: new Uint8Array(100).fill(2),
			mimetype: 'video/mp4',
			seconds: 3_000_000_000,
		})
		expect((await stored(jid(from), image.id)).media).toMatchObject({ kind: 'image', height: 10 })
		expect((await stored(jid(from), image.id)).media).not.toHaveProperty('width')
		expect((await stored(jid(from), video.id)).media).not.toHaveProperty('seconds')
	})

	it('with a location that is not a number is stored as a message of another kind', async () => {
		const from = sender()
		const { id } = await world.standIn.deliverContent({
			to: PHONE,
			from,
			kind: 'location',
			latitude: Number.NaN,
			longitude: 10,
			encryption: 'plaintext',
		})
		expect((await stored(jid(from), id)).kind).toBe('other')
	})

	it('with a reaction timed past any clock keeps the reaction, at the message’s time', async () => {
		const from = sender()
		const { id, chat } = await world.standIn.deliverText({ to: PHONE, from, text: 'react to me' })
		await stored(jid(from), id)
		await world.standIn.deliver({
			to: PHONE,
			from,
			encryption: 'plaintext',
			message: { reactionMessage: { key: { remoteJid: chat, fromMe: false, id }, text: '👍', senderTimestampMs: 2 ** 52 } as never },
		})
		expect((await stored(jid(from), id, (m) => m.reactions.length > 0)).reactions).toEqual([expect.objectContaining({ emoji: '👍' })])
	})
})

describe('a history sync', () => {
	it('with one message timed in milliseconds and an unread count past 32 bits stores every message of the chunk', async () => {
		const [ada, bob] = [sender(), sender()]
		const now = nowSeconds()
		await world.standIn.pushHistory({
			to: PHONE,
			conversations: [
				{ with: ada, name: 'Ada', messages: [{ id: 'HA1', text: 'fine', timestamp: now - 100 }], unreadCount: 3_000_000_000 },
				{ with: bob, name: 'Bob', messages: [{ id: 'HB1', text: 'ms', timestamp: Date.now() }] },
			],
		})
		await stored(jid(ada), 'HA1')
		expect(Math.abs(Date.parse((await stored(jid(bob), 'HB1')).timestamp) / 1000 - now)).toBeLessThan(60)
	})
})

describe('a group', () => {
	const group = (g: string) => api.get(`/sessions/${sessionId}/groups/${g}`)

	it('with a disappearing-messages timer past 32 bits is stored, the timer off', async () => {
		const g = await world.standIn.createGroup({ owner: sender(), subject: 'Timer', members: [PHONE], ephemeral: 3_000_000_000 })
		const { body } = await until(async () => {
			const res = await group(g.jid)
			return res.status === 200 && res
		}, 'the group')
		expect(body).toMatchObject({ subject: 'Timer', ephemeral: 0 })
	})

	it('of 2,101 members is stored with all of them, and so are 2,100 added at once', async () => {
		const owner = sender()
		const members = [PHONE, ...Array.from({ length: 2100 }, (_, i) => `1666${String(i).padStart(7, '0')}`)]
		const big = await world.standIn.createGroup({ owner, subject: 'Community', members })
		await until(async () => (await group(big.jid)).body?.size === 2102, 'the big group')
		const grown = await world.standIn.createGroup({ owner, subject: 'Grows', members: [PHONE] })
		await until(async () => (await group(grown.jid)).status === 200, 'the small group')
		await world.standIn.changeGroup({ group: grown.jid, actor: owner, action: 'add', members: members.slice(1) })
		await until(async () => (await group(grown.jid)).body?.size === 2102, 'the 2,100 added')
	}, 60_000)
})

describe('the dead-letter stream', () => {
	it('holds nothing: every event of these cases was stored', async () => {
		expect(await world.app.server.bus.deadLetters(DOMAIN_EVENTS, { count: 100 })).toEqual([])
	})
})
