import { afterAll, beforeAll, describe, expect, it } from 'bun:test'
import { type Account, crossingRound, newTraffic, untilAllArrived } from '../helpers/conversations'
import { until } from '../helpers/until'
import { startTwoRunners, type FleetWorld, type RunnerProcess } from './fleet'

// A runner is killed with SIGKILL while its accounts and their customers write each other, both
// ways at once. The other runner takes the sessions over and works off, at the same time, the sends
// queued meanwhile and the messages WhatsApp held for the companions: nothing may be lost on either
// side, neither then nor in the conversations that go on afterwards.
const PARTITIONS = 2
const PHONES = ['15557910010', '15557910020', '15557910030', '15557910040', '15557910050']
const CONTACTS = ['15557910001', '15557910002', '15557910003', '15557910004']
const ROUNDS = 16
/** The round before which the runner is killed: traffic goes on through the takeover. */
const KILL_BEFORE = 5
const ROUND_EVERY_MS = 300
const AT_ONCE = 3

let fleet: FleetWorld
let victim: RunnerProcess
let survivor: RunnerProcess
let accounts: Account[]

beforeAll(async () => {
	const two = await startTwoRunners(PARTITIONS)
	fleet = two.fleet
	victim = two.first
	survivor = two.second
	// Every account on a partition the victim holds.
	const { partitions } = await fleet.leases()
	const victims = partitions.findIndex((l) => victim.owns(l?.holder))
	accounts = []
	for (const phone of PHONES) accounts.push({ phone, api: fleet.api, sessionId: (await fleet.pairedOn(victims, phone)).id })
}, 90_000)
afterAll(() => fleet?.close(), 30_000)

describe('a runner killed with -9 in the middle of conversations', () => {
	it('loses no message either way: the other runner delivers and stores them all', async () => {
		const traffic = newTraffic()
		for (let round = 0; round < ROUNDS; round++) {
			if (round === KILL_BEFORE) {
				victim.proc.kill('SIGKILL')
				await victim.proc.exited
			}
			await Promise.all([crossingRound(fleet.standIn, { accounts, contacts: CONTACTS, round, atOnce: AT_ONCE }, traffic), Bun.sleep(ROUND_EVERY_MS)])
		}
		for (const { sessionId } of accounts)
			expect(
				survivor.owns(await until(() => fleet.sessionOwner(sessionId).then((o) => survivor.owns(o) && o), `the new owner of ${sessionId}`)),
			).toBe(true)
		await untilAllArrived(fleet.standIn, accounts, traffic)
		expect(traffic.received).toHaveLength(ROUNDS * PHONES.length * CONTACTS.length * AT_ONCE)
		// The kill fell in the middle: WhatsApp held messages for the companions while they were gone.
		expect(traffic.held).toBeGreaterThan(0)
		console.log(`${traffic.held} of ${traffic.received.length} customers' messages held while no runner had the sessions`)
	}, 150_000)
})
