import { afterAll, beforeAll, describe, expect, it } from 'bun:test'
import { type Account, crossingRound, newTraffic, untilAllArrived } from '../helpers/conversations'
import { pairedSession, startSessionsWorld, type SessionsWorld } from '../helpers/sessions'

/**
 * Support desks answer while their customers are still typing, and a customer writes to several
 * accounts that one runner holds: sends to a contact and messages from that contact cross, from
 * the very first (both sides then start a Signal session at once, and each holds two). Every
 * message still arrives, on both sides.
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
let accounts: Account[]

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

describe('messages crossing in both directions', () => {
	it('all arrive, on the phones and on the server, while they keep coming', async () => {
		const traffic = newTraffic()
		for (let round = 0; round < ROUNDS; round++) {
			await Promise.all([crossingRound(world.standIn, { accounts, contacts: CONTACTS, round, atOnce: AT_ONCE }, traffic), Bun.sleep(ROUND_EVERY_MS)])
		}
		await untilAllArrived(world.standIn, accounts, traffic)
		expect(traffic.received).toHaveLength(ROUNDS * PHONES.length * CONTACTS.length * AT_ONCE)
		expect(traffic.sent).toHaveLength(ROUNDS * PHONES.length * CONTACTS.length * AT_ONCE)
	}, 120_000)
})
