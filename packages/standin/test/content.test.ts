import { afterAll, beforeAll, describe, expect, it } from 'bun:test'
import {
	decryptPollVote,
	getAggregateVotesInPollMessage,
	jidNormalizedUser,
	type proto,
	WAMessageStubType,
	type WAMessage,
} from '@whiskeysockets/baileys'
import { startStandIn, type StandIn } from '../src'
import { vcardOf } from '../src/media/content'
import { trustRootKey } from './root-key'
import { pairedCompanion, quietLibsignal, type TestCompanion } from './companion'

const ACCOUNT = '15550000600'
const BOB = '15550000601'
const CAROL = '15550000602'
const DORA = '15550000603'
const ERIK = '15550000604'

let standIn: StandIn
let companion: TestCompanion
const restoreConsole = quietLibsignal()

beforeAll(async () => {
	standIn = await startStandIn()
	trustRootKey(standIn.rootPublicKey)
	;({ companion } = await pairedCompanion(standIn, ACCOUNT))
	await companion.untilInitialSync()
})

afterAll(async () => {
	restoreConsole()
	companion.end()
	await standIn.stop()
})

const bobJid = `${BOB}@s.whatsapp.net`
const accountJid = `${ACCOUNT}@s.whatsapp.net`

describe('locations and contact cards', () => {
	it('a location', async () => {
		const { id } = await standIn.deliverContent({
			to: ACCOUNT,
			from: BOB,
			kind: 'location',
			latitude: 52.52,
			longitude: 13.405,
			name: 'Alexanderplatz',
			address: 'Berlin',
		})
		expect((await companion.messageOf(id)).message?.locationMessage).toMatchObject({
			degreesLatitude: 52.52,
			degreesLongitude: 13.405,
			name: 'Alexanderplatz',
			address: 'Berlin',
		})
	})

	it('a live location', async () => {
		const { id } = await standIn.deliverContent({
			to: ACCOUNT,
			from: BOB,
			kind: 'live-location',
			latitude: 48.85,
			longitude: 2.35,
			accuracy: 12,
			caption: 'on my way',
			sequence: 3,
		})
		const live = (await companion.messageOf(id)).message?.liveLocationMessage
		expect(live).toMatchObject({ degreesLatitude: 48.85, degreesLongitude: 2.35, accuracyInMeters: 12, caption: 'on my way' })
		expect(Number(live?.sequenceNumber)).toBe(3)
	})

	it('one contact card, with a vCard written for it', async () => {
		const { id } = await standIn.deliverContent({ to: ACCOUNT, from: BOB, kind: 'contacts', contacts: [{ name: 'Dora', phone: '15550000699' }] })
		const card = (await companion.messageOf(id)).message?.contactMessage
		expect(card).toMatchObject({ displayName: 'Dora', vcard: vcardOf('Dora', '15550000699') })
		expect(card?.vcard).toContain('waid=15550000699:+15550000699')
	})

	it('several contact cards', async () => {
		const vcard = 'BEGIN:VCARD\nVERSION:3.0\nFN:Eve\nEND:VCARD'
		const { id } = await standIn.deliverContent({
			to: ACCOUNT,
			from: BOB,
			kind: 'contacts',
			contacts: [
				{ name: 'Dora', phone: '15550000699' },
				{ name: 'Eve', vcard },
			],
		})
		const cards = (await companion.messageOf(id)).message?.contactsArrayMessage
		expect(cards?.displayName).toBe('2 contacts')
		expect(cards?.contacts?.map((card) => card.displayName)).toEqual(['Dora', 'Eve'])
		expect(cards?.contacts?.[1]?.vcard).toBe(vcard)
	})
})

describe('reactions, replies, edits and deletes', () => {
	it('a reaction to the contact’s own message, then its removal (an empty emoji)', async () => {
		const { id: target } = await standIn.deliverText({ to: ACCOUNT, from: BOB, text: 'react to this' })
		await companion.textOf(target)
		const { id } = await standIn.deliverContent({ to: ACCOUNT, from: BOB, kind: 'reaction', target: { id: target }, emoji: '❤️' })
		expect((await companion.messageOf(id)).message?.reactionMessage).toMatchObject({
			text: '❤️',
			key: { id: target, fromMe: false, remoteJid: bobJid },
		})
		const removal = await standIn.deliverContent({ to: ACCOUNT, from: BOB, kind: 'reaction', target: { id: target }, emoji: '' })
		expect((await companion.messageOf(removal.id)).message?.reactionMessage).toMatchObject({ text: '', key: { id: target } })
	})

	it('a reaction to a message the account sent is, for Baileys, a reaction to its own message', async () => {
		const sent = await companion.socket!.sendMessage(bobJid, { text: 'my message' })
		const { id } = await standIn.deliverContent({
			to: ACCOUNT,
			from: BOB,
			kind: 'reaction',
			target: { id: sent!.key.id!, fromMe: true },
			emoji: '👍',
		})
		expect((await companion.messageOf(id)).message?.reactionMessage?.key).toMatchObject({ id: sent!.key.id, fromMe: true })
	})

	it('a reply quotes the message: stanzaId, participant and the quoted content', async () => {
		const { id: target } = await standIn.deliverText({ to: ACCOUNT, from: BOB, text: 'a question?' })
		const { id } = await standIn.deliverContent({ to: ACCOUNT, from: BOB, kind: 'reply', target: { id: target }, text: 'and its answer' })
		const reply = (await companion.messageOf(id)).message?.extendedTextMessage
		expect(reply?.text).toBe('and its answer')
		expect(reply?.contextInfo).toMatchObject({ stanzaId: target, participant: bobJid, quotedMessage: { conversation: 'a question?' } })

		const sent = await companion.socket!.sendMessage(bobJid, { text: 'from the account' })
		await standIn.waitForSent((message) => message.id === sent!.key.id)
		const toOwn = await standIn.deliverContent({
			to: ACCOUNT,
			from: BOB,
			kind: 'reply',
			target: { id: sent!.key.id!, fromMe: true },
			text: 'replying to you',
		})
		expect((await companion.messageOf(toOwn.id)).message?.extendedTextMessage?.contextInfo).toMatchObject({
			stanzaId: sent!.key.id,
			participant: accountJid,
			quotedMessage: { extendedTextMessage: { text: 'from the account' } },
		})
		expect((await companion.messageOf(toOwn.id)).message?.extendedTextMessage?.contextInfo?.quotedMessage?.messageContextInfo).toBeFalsy()
	})

	it('an edit: Baileys reports the new text for the original message', async () => {
		const { id: target } = await standIn.deliverText({ to: ACCOUNT, from: BOB, text: 'tpyo' })
		await companion.textOf(target)
		await standIn.deliverContent({ to: ACCOUNT, from: BOB, kind: 'edit', target: { id: target }, text: 'typo' })
		const update = await companion.updateOf(target, (update) => !!update.message?.editedMessage, 'the edit')
		expect(update.message?.editedMessage?.message).toMatchObject({ conversation: 'typo' })
	})

	it('a delete for everyone: Baileys revokes the original message', async () => {
		const { id: target } = await standIn.deliverContent({ to: ACCOUNT, from: BOB, kind: 'location', latitude: 1, longitude: 2 })
		await companion.messageOf(target)
		await standIn.deliverContent({ to: ACCOUNT, from: BOB, kind: 'delete', target: { id: target } })
		const update = await companion.updateOf(target, (update) => update.messageStubType === WAMessageStubType.REVOKE, 'the revoke')
		expect(update.message).toBeNull()
	})
})

/**
 * Baileys 7 does not decrypt votes itself: the app does, with the poll's messageSecret from its
 * own store (what `getMessage` would return) and the creator's and voter's JIDs.
 */
function openVote(poll: WAMessage, vote: WAMessage): proto.Message.PollVoteMessage {
	const me = jidNormalizedUser(companion.auth.creds.me!.id)
	const update = vote.message!.pollUpdateMessage!
	return decryptPollVote(update.vote!, {
		pollEncKey: poll.message!.messageContextInfo!.messageSecret!,
		pollCreatorJid: update.pollCreationMessageKey!.fromMe ? me : poll.key.remoteJid!,
		pollMsgId: poll.key.id!,
		voterJid: vote.key.remoteJid!,
	})
}

describe('polls', () => {
	it('a poll with its messageSecret, and a vote the companion decrypts', async () => {
		const created = await standIn.deliverContent({ to: ACCOUNT, from: CAROL, kind: 'poll', name: 'Lunch?', options: ['Pizza', 'Sushi', 'Salad'] })
		const poll = await companion.messageOf(created.id)
		expect(poll.message?.pollCreationMessageV3).toMatchObject({ name: 'Lunch?', selectableOptionsCount: 1 })
		expect(poll.message?.pollCreationMessageV3?.options?.map((option) => option.optionName)).toEqual(['Pizza', 'Sushi', 'Salad'])
		expect(Buffer.from(poll.message!.messageContextInfo!.messageSecret!).toString('base64')).toBe(created.messageSecret!)

		const voted = await standIn.deliverContent({ to: ACCOUNT, from: CAROL, kind: 'poll-vote', poll: { id: created.id }, options: ['Sushi'] })
		const vote = await companion.messageOf(voted.id)
		expect(vote.message?.pollUpdateMessage?.pollCreationMessageKey).toMatchObject({ id: created.id, fromMe: false })
		const decrypted = openVote(poll, vote)
		const tally = getAggregateVotesInPollMessage({ message: poll.message, pollUpdates: [{ pollUpdateMessageKey: vote.key, vote: decrypted }] })
		expect(tally.map(({ name, voters }) => [name, voters.length])).toEqual([
			['Pizza', 0],
			['Sushi', 1],
			['Salad', 0],
		])
	})

	it('a vote in a poll the account created (its secret read from what the companion sent)', async () => {
		const sent = await companion.socket!.sendMessage(`${CAROL}@s.whatsapp.net`, {
			poll: { name: 'Meet when?', values: ['Mon', 'Tue'], selectableCount: 1 },
		})
		await standIn.waitForSent((message) => message.id === sent!.key.id)
		const voted = await standIn.deliverContent({
			to: ACCOUNT,
			from: CAROL,
			kind: 'poll-vote',
			poll: { id: sent!.key.id!, fromMe: true },
			options: ['Tue'],
		})
		expect(voted.vote).toEqual({ creatorJid: accountJid, voterJid: `${CAROL}@s.whatsapp.net` })
		const vote = await companion.messageOf(voted.id)
		expect(vote.message?.pollUpdateMessage?.pollCreationMessageKey?.fromMe).toBe(true)
		const selected = openVote(sent!, vote).selectedOptions!.map((hash) => Buffer.from(hash).toString('hex'))
		expect(selected).toEqual([new Bun.CryptoHasher('sha256').update('Tue').digest('hex')])
	})

	it('in a LID-addressed chat the vote is encrypted with the LID JIDs', async () => {
		const created = await standIn.deliverContent({ to: ACCOUNT, from: CAROL, kind: 'poll', name: 'Tea?', options: ['Yes', 'No'], addressing: 'lid' })
		const poll = await companion.messageOf(created.id)
		expect(poll.key.remoteJid).toBe(standIn.lidOf(CAROL))
		const voted = await standIn.deliverContent({
			to: ACCOUNT,
			from: CAROL,
			kind: 'poll-vote',
			poll: { id: created.id },
			options: ['No'],
			addressing: 'lid',
		})
		expect(voted.vote).toEqual({ creatorJid: standIn.lidOf(CAROL), voterJid: standIn.lidOf(CAROL) })
		const selected = openVote(poll, await companion.messageOf(voted.id)).selectedOptions!.map((hash) => Buffer.from(hash).toString('hex'))
		expect(selected).toEqual([new Bun.CryptoHasher('sha256').update('No').digest('hex')])
	})
})

describe("the sender's push name", () => {
	const pushNames = async (ids: string[]) => Promise.all(ids.map(async (id) => (await companion.messageOf(id)).pushName))

	it("a location's and a poll's name never become the sender's push name (in-process)", async () => {
		const first = await standIn.deliverEncrypted({ to: ACCOUNT, from: DORA, text: 'hello', pushName: 'Dora' })
		const place = await standIn.deliverContent({ to: ACCOUNT, from: DORA, kind: 'location', latitude: 52.52, longitude: 13.405, name: 'Office' })
		const poll = await standIn.deliverContent({ to: ACCOUNT, from: DORA, kind: 'poll', name: 'Lunch?', options: ['Pizza', 'Salad'] })
		const last = await standIn.deliverEncrypted({ to: ACCOUNT, from: DORA, text: 'see you' })
		expect(await pushNames([first.id, place.id, poll.id, last.id])).toEqual(['Dora', 'Dora', 'Dora', 'Dora'])
		expect((await companion.messageOf(place.id)).message?.locationMessage?.name).toBe('Office')
		expect((await companion.messageOf(poll.id)).message?.pollCreationMessageV3?.name).toBe('Lunch?')
	})

	it('the same over HTTP, where `name` on a text or another kind is refused', async () => {
		const post = async (path: string, body: object) => {
			const response = await fetch(`${standIn.httpUrl}${path}`, { method: 'POST', body: JSON.stringify(body) })
			return { status: response.status, body: (await response.json()) as Record<string, any> }
		}
		const first = await post('/control/messages', { to: ACCOUNT, from: ERIK, text: 'hello', pushName: 'Erik', encrypted: true })
		const place = await post('/control/messages/location', { to: ACCOUNT, from: ERIK, latitude: 1.5, longitude: 2.5, name: 'Office' })
		const poll = await post('/control/messages/poll', { to: ACCOUNT, from: ERIK, name: 'Lunch?', options: ['Pizza', 'Salad'] })
		const last = await post('/control/messages', { to: ACCOUNT, from: ERIK, text: 'see you', encrypted: true })
		expect([first, place, poll, last].map((r) => r.status)).toEqual([200, 200, 200, 200])
		expect(await pushNames([first, place, poll, last].map((r) => r.body.id))).toEqual(['Erik', 'Erik', 'Erik', 'Erik'])
		expect((await companion.messageOf(place.body.id)).message?.locationMessage?.name).toBe('Office')
		expect((await companion.messageOf(poll.body.id)).message?.pollCreationMessageV3?.name).toBe('Lunch?')
		const refused = { error: "'name' is a location's or a poll's own; the sender's push name is 'pushName'" }
		expect(await post('/control/messages', { to: ACCOUNT, from: ERIK, text: 'hi', name: 'Erik' })).toEqual({ status: 400, body: refused })
		expect(await post('/control/messages/contacts', { to: ACCOUNT, from: ERIK, contacts: [{ name: 'Dora' }], name: 'Erik' })).toEqual({
			status: 400,
			body: refused,
		})
	})
})
