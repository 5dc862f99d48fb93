import { afterAll, beforeAll, describe, expect, it } from 'bun:test'
import { pairedSession, startSessionsWorld, type Client, type SessionsWorld } from '../helpers/sessions'
import { until } from '../helpers/until'

/**
 * Support desks answer while their customers are still typing, and a customer writes to several
 * accounts that one runner holds: sends to a contact and messages from that contact cross, from
 * the very first (both sides then start a Signal session at once, and each holds two). Every
 * message still arrives, on both sides. Signal-encrypted through the stand-in, as a phone does it.
 */

/** Accounts on one runner, each in a tenant of its own, all writing with the same customers. */
const PHONES = ['15557900010', '15557900020', '15557900030', '15557900040', '15557900050']
const CONTACTS = ['15557900001', '15557900002', '15557900003', '15557900004']
const ROUNDS = 15
/** Traffic keeps coming while earlier messages are still being handled: a round goes out this often. */
const ROUND_EVERY_MS = 300
/** Messages each way per contact and round, all at once. */
const AT_ONCE = 3

let world: SessionsWorld
let accounts: { phone: string; api: Client; sessionId: string }[]

beforeAll(async () => {
	world = await startSessionsWorld()
	accounts = await Promise.all(
		PHONES.map(async (phone) => {
			const api = await world.tenant()
			return { phone, api, sessionId: (await pairedSession(world, api, phone)).id }
		}),
	)
})
afterAll(async () => {
	await world?.close()
})

/** The texts of the contact's chat that the server has stored for an account, by message id. */
async function storedTexts(api: Client, contact: string): Promise<Map<string, string | null>> {
	const { body } = await api.get(`/chats/${contact}@s.whatsapp.net/messages?limit=100`)
	return new Map(((body.items as { id: string; text: string | null }[] | undefined) ?? []).map((m) => [m.id, m.text]))
}

describe('messages crossing in both directions', () => {
	it('all arrive, on the phones and on the server, while they keep coming', async () => {
		const received: { api: Client; contact: string; id: string; text: string }[] = []
		const sent: string[] = []
		for (let round = 0; round < ROUNDS; round++) {
			const work: Promise<unknown>[] = []
			for (const { phone, api, sessionId } of accounts) {
				for (const contact of CONTACTS) {
					for (let n = 0; n < AT_ONCE; n++) {
						const customer = `from the customer, round ${round} #${n}`
						work.push(
							world.standIn
								.deliver({ to: phone, from: contact, text: customer, encryption: 'signal' })
								.then(({ id }) => received.push({ api, contact, id, text: customer })),
						)
						work.push(
							api
								.post<{ messageId: string }>(`/sessions/${sessionId}/messages`, { to: `+${contact}`, text: `from the desk, round ${round} #${n}` })
								.then(({ status, body }) => {
									expect(status).toBe(202)
									sent.push(body.messageId)
								}),
						)
					}
				}
			}
			await Promise.all([...work, Bun.sleep(ROUND_EVERY_MS)])
		}
		/** The customers' messages not (yet) stored with their text, as `account←contact` of each. */
		const notStored = async () => {
			const missing: string[] = []
			for (const { phone, api } of accounts) {
				const stored = new Map(await Promise.all(CONTACTS.map(async (c) => [c, await storedTexts(api, c)] as const)))
				for (const { contact, id, text } of received.filter((r) => r.api === api)) {
					if (stored.get(contact)!.get(id) !== text) missing.push(`${phone}←${contact}`)
				}
			}
			return missing
		}
		// A message that cannot be decrypted never arrives: these waits then time out, saying which
		// conversations lack messages (a broken Signal session loses every later one of its contact).
		await until(async () => (await notStored()).length === 0, "the customers' messages stored").catch(async (error: Error) => {
			const missing = await notStored()
			const byConversation = Object.entries(Object.groupBy(missing, (m) => m)).map(([c, ms]) => `${c} ${ms!.length}`)
			throw new Error(`${error.message}: ${missing.length} of ${received.length} missing (${byConversation.join(', ')})`)
		})
		const onPhones = () => new Map(PHONES.flatMap((phone) => world.standIn.sent(phone)).map((m) => [m.id, m]))
		await until(() => {
			const arrived = onPhones()
			return sent.every((id) => arrived.has(id))
		}, "the desk's messages at the customers' phones")
		const arrived = onPhones()
		expect(sent.filter((id) => arrived.get(id)?.text === undefined).map((id) => arrived.get(id)?.decryptError)).toEqual([])
		expect(received).toHaveLength(ROUNDS * PHONES.length * CONTACTS.length * AT_ONCE)
	}, 60_000)
})
