import { afterAll, beforeAll, describe, expect, it } from 'bun:test'
import { type Client, pairedSession, type SessionsWorld, startSessionsWorld } from '../helpers/sessions'
import { until } from '../helpers/until'

/**
 * Reactions and poll votes from a contact WhatsApp addresses by LID. The contact's messages are
 * filed under the phone-number chat (their keys carry both forms); the changes to them must land
 * on those same messages, and a vote must be read whichever of the account's JIDs it is sealed with.
 */

const PHONE = '4915100000701'
const FRIEND = '4915100000702'
const CHAT = `${FRIEND}@s.whatsapp.net`
let world: SessionsWorld
let api: Client

beforeAll(async () => {
	world = await startSessionsWorld()
	api = await world.tenant()
	await pairedSession(world, api, PHONE)
})
afterAll(() => world.close())

/** The message as GET /chats/:jid/messages of the phone-number chat shows it, once `ready` holds. */
const shown = (id: string, ready: (m: Record<string, any>) => boolean = () => true) =>
	until(async () => {
		const res = await api.get(`/chats/${CHAT}/messages?limit=50`)
		const found = res.body.items?.find((m: { id: string }) => m.id === id)
		return found && ready(found) && found
	}, `message ${id} as expected`)

const fromLid = (spec: Record<string, unknown>) => world.standIn.deliverContent({ to: PHONE, from: FRIEND, addressing: 'lid', ...spec } as never)

describe('a contact addressed by LID', () => {
	it('reacts to its own message: the reaction shows on it', async () => {
		const place = await fromLid({ kind: 'location', latitude: 52.52, longitude: 13.4 })
		expect(place.chat).toBe(world.standIn.lidOf(FRIEND))
		await shown(place.id)
		await fromLid({ kind: 'reaction', target: { id: place.id }, emoji: '🔥' })
		const reacted = await shown(place.id, (m) => m.reactions.length === 1)
		expect(reacted.reactions).toEqual([{ sender: expect.any(String), emoji: '🔥', at: expect.any(String) }])

		// The account answers in the chat as the LID names it: the message is found under the phone number.
		const res = await api.post(`/chats/${place.chat}/messages`, { reaction: { messageId: place.id, emoji: '👍' } })
		expect(res.status).toBe(202)
		const sent = await world.standIn.waitForSent((m) => m.id === res.body.messageId)
		expect(sent.message?.reactionMessage).toMatchObject({ text: '👍', key: { id: place.id } })
	})

	it('votes on its own poll: the vote is counted', async () => {
		const poll = await fromLid({ kind: 'poll', name: 'Lunch?', options: ['Yes', 'No'] })
		await shown(poll.id)
		await fromLid({ kind: 'poll-vote', poll: { id: poll.id }, options: ['No'] })
		const voted = await shown(poll.id, (m) => m.poll.votes.length === 1)
		expect(voted.poll.options).toEqual([
			{ name: 'Yes', votes: 0 },
			{ name: 'No', votes: 1 },
		])
	})

	it("votes on the account's poll, sealing the vote with the account's LID: the vote is counted", async () => {
		const sent = await api.post(`/chats/${CHAT}/messages`, { poll: { question: 'Dinner?', options: ['7', '8'] } })
		expect(sent.status).toBe(202)
		await world.standIn.waitForSent((m) => m.id === sent.body.messageId)
		await shown(sent.body.messageId)
		const vote = await fromLid({ kind: 'poll-vote', poll: { id: sent.body.messageId, fromMe: true }, options: ['8'] })
		expect(vote.vote?.creatorJid).toBe(world.standIn.lidOf(PHONE))
		const voted = await shown(sent.body.messageId, (m) => m.poll.votes.length === 1)
		expect(voted.poll.options).toEqual([
			{ name: '7', votes: 0 },
			{ name: '8', votes: 1 },
		])
	})
})
