import { afterAll, beforeAll, describe, expect, it } from 'bun:test'
import { DisconnectReason } from '@whiskeysockets/baileys'
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

describe('connection lifecycle', () => {
	it('a kicked companion sees a transient disconnect (428) and logs in again without a QR', async () => {
		const { companion, jid } = await pairedCompanion(standIn, '15550000300')
		await companion.untilInitialSync()
		expect(standIn.kick(jid)).toBe(1)
		expect(await companion.untilClosed(2)).toBe(DisconnectReason.connectionClosed)

		companion.start()
		await companion.untilOpen(2)
		expect(companion.qrs).toHaveLength(1)
		expect(standIn.device(jid)).toMatchObject({ logins: 2, live: 1, maxLive: 1 })
		companion.end()
	})

	it('kick modes map to the disconnect codes Baileys reports', async () => {
		const { companion, jid } = await pairedCompanion(standIn, '15550000301')
		await companion.untilInitialSync()
		standIn.kick(jid, 'replaced')
		expect(await companion.untilClosed(2)).toBe(DisconnectReason.connectionReplaced)
		companion.start()
		await companion.untilOpen(2)
		standIn.kick(jid, 'server-error')
		expect(await companion.untilClosed(3)).toBe(DisconnectReason.unavailableService)
		companion.start()
		await companion.untilOpen(3)
		standIn.kick(jid, 'restart')
		expect(await companion.untilClosed(4)).toBe(DisconnectReason.restartRequired)
		await companion.untilOpen(4) // the helper restarts on 515, as the runner must
		companion.end()
	})

	it('counts the highest number of simultaneous sockets per device; a second login replaces the first (440)', async () => {
		const { companion, jid } = await pairedCompanion(standIn, '15550000302')
		await companion.untilInitialSync()
		expect(standIn.device(jid).maxLive).toBe(1)

		const twin = new TestCompanion(standIn.wsUrl, { auth: companion.auth })
		twin.start()
		await twin.untilOpen()
		expect(await companion.untilClosed(2)).toBe(DisconnectReason.connectionReplaced)
		expect(standIn.device(jid)).toMatchObject({ logins: 2, live: 1, maxLive: 2 })
		twin.end()
	})

	it('answers keepalive pings, so the socket stays open', async () => {
		const companion = new TestCompanion(standIn.wsUrl, { config: { keepAliveIntervalMs: 50 } })
		companion.start()
		const { jid } = await standIn.scanQr(await companion.untilQr(), '15550000303')
		await companion.untilOpen()
		const after = standIn.position
		let pings = 0
		await standIn.core.log.waitFor('iq', (event) => event.device === jid && event.xmlns === 'w:p' && ++pings === 3, { after })
		expect(companion.open).toBe(true)
		expect(companion.closeCodes).toEqual([DisconnectReason.restartRequired])
		companion.end()
	})
})
