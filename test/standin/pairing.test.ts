import { afterAll, beforeAll, describe, expect, it } from 'bun:test'
import { startStandIn, trustRootKey, type StandIn } from '../../src/standin'
import { pairedCompanion, TestCompanion } from './companion'

let standIn: StandIn

beforeAll(async () => {
	standIn = await startStandIn()
	trustRootKey(standIn.rootPublicKey)
})

afterAll(async () => {
	await standIn.stop()
})

describe('pairing', () => {
	it('shows a QR for a companion without an account', async () => {
		const companion = new TestCompanion(standIn.wsUrl)
		const registrations = standIn.stats().registrations
		companion.start()
		const qr = await companion.untilQr()
		expect(qr).toStartWith('https://wa.me/settings/linked_devices#2@')
		expect(standIn.stats().registrations).toBe(registrations + 1)
		companion.end()
	})

	it('scanning the QR pairs, restarts with 515, and the new socket opens', async () => {
		const companion = new TestCompanion(standIn.wsUrl)
		companion.start()
		const device = await standIn.scanQr(await companion.untilQr(), '15550000001')
		expect(device.jid).toBe('15550000001:1@s.whatsapp.net')
		expect(await companion.untilClosed()).toBe(515)
		await companion.untilOpen()
		expect(companion.sockets).toBe(2)
		expect(companion.auth.creds.me?.id).toBe(device.jid)
		expect(companion.auth.creds.me?.lid).toBe(device.lid)
		expect(standIn.device(device.jid).logins).toBe(1)
		companion.end()
	})
})
