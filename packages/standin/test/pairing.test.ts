import { afterAll, beforeAll, describe, expect, it } from 'bun:test'
import { startStandIn, type StandIn } from '../src'
import { trustRootKey } from './root-key'
import { pairedCompanion, TestCompanion } from './companion'

let standIn: StandIn

beforeAll(async () => {
	standIn = await startStandIn()
	trustRootKey(standIn.rootPublicKey)
})

afterAll(async () => {
	await standIn.stop()
})

describe('linking a companion', () => {
	it('shows a QR to a companion without an account, one registration per connection', async () => {
		const before = standIn.stats()
		const companion = new TestCompanion(standIn.wsUrl)
		companion.start()
		expect(await companion.untilQr()).toStartWith('https://wa.me/settings/linked_devices#2@')
		expect(standIn.stats().registrations).toBe(before.registrations + 1)
		expect(standIn.stats().qrRefs).toBe(before.qrRefs + 6)
		companion.end()
	})

	it('scanning the QR pairs the companion, which restarts (515) and opens with its new identity', async () => {
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

	it('a paired companion logs in again later without a QR', async () => {
		const { companion, jid } = await pairedCompanion(standIn, '15550000002')
		const registrations = standIn.stats().registrations
		companion.end()
		await standIn.waitForDisconnect(jid)

		companion.start()
		await companion.untilOpen(2)
		expect(companion.qrs).toHaveLength(1)
		expect(standIn.stats().registrations).toBe(registrations)
		expect(standIn.device(jid).logins).toBe(2)
		companion.end()
	})

	it('an unknown device is refused with 401', async () => {
		const stranger = new TestCompanion(standIn.wsUrl)
		stranger.auth.creds.me = { id: '15559999999:7@s.whatsapp.net', name: 'Nobody' }
		stranger.start()
		expect(await stranger.untilClosed()).toBe(401)
		expect(stranger.qrs).toHaveLength(0)
	})

	it('pairs by code: the companion asks for a code for a number, the phone types it in', async () => {
		const companion = new TestCompanion(standIn.wsUrl)
		const socket = companion.start()
		await companion.untilQr()
		const code = await socket.requestPairingCode('15550000003')
		await standIn.core.log.waitFor('pairing-code-requested', (event) => event.phone === '15550000003')

		const device = await standIn.enterPairingCode('15550000003', code)
		expect(device.jid).toBe('15550000003:1@s.whatsapp.net')
		expect(await companion.untilClosed()).toBe(515)
		await companion.untilOpen()
		expect(companion.auth.creds.me?.id).toBe(device.jid)
		companion.end()
	})

	it('a wrong pairing code does not pair', async () => {
		const companion = new TestCompanion(standIn.wsUrl)
		const socket = companion.start()
		await companion.untilQr()
		await socket.requestPairingCode('15550000004')
		await standIn.core.log.waitFor('pairing-code-requested', (event) => event.phone === '15550000004')

		// Not `expect(promise).rejects`: Bun drives the event loop re-entrantly there, which breaks the
		// WebSocket client's framing while Baileys is sending.
		const error = await standIn.enterPairingCode('15550000004', 'ZZZZ9999').catch((reason: Error) => reason)
		expect(String(error)).toContain('pairing code did not match')
		expect(standIn.stats().devices.some((device) => device.phone === '15550000004')).toBe(false)
		companion.end()
	})
})

describe('unlinking', () => {
	it('a logout is recorded, and the device cannot log in again', async () => {
		const { companion, jid } = await pairedCompanion(standIn, '15550000005')
		await companion.socket?.logout()
		await standIn.waitForLogout(jid)
		expect(standIn.device(jid).removed).toBe('logout')

		const again = new TestCompanion(standIn.wsUrl, { auth: companion.auth })
		again.start()
		expect(await again.untilClosed()).toBe(401)
	})

	it('revoking a device from the phone closes its socket with 401 and refuses later logins', async () => {
		const { companion, jid } = await pairedCompanion(standIn, '15550000006')
		expect(standIn.revoke(jid)).toEqual([jid])
		expect(await companion.untilClosed(2)).toBe(401)

		companion.start()
		expect(await companion.untilClosed(3)).toBe(401)
		expect(standIn.device(jid).removed).toBe('revoked')
	})
})
