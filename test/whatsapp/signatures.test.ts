import { afterAll, beforeAll, describe, expect, test } from 'bun:test'
import { Curve } from '@whiskeysockets/baileys'
import { startStandIn, type StandIn } from '@switchboard/standin'
import { TestCompanion } from '../../packages/standin/test/companion'
import { trustRootKey } from '../../src/whatsapp/root-key'
import { verifySignaturesStrictly } from '../../src/whatsapp/signatures'

let standIn: StandIn

beforeAll(async () => {
	verifySignaturesStrictly()
	standIn = await startStandIn({ onError: () => {} })
})

afterAll(async () => {
	trustRootKey(standIn.rootPublicKey)
	await standIn.stop()
})

describe('signature checks', () => {
	test('a signature verifies with its key and message only', () => {
		const signer = Curve.generateKeyPair()
		const other = Curve.generateKeyPair()
		const message = Buffer.from('the details of a certificate')
		const signature = Buffer.from(Curve.sign(signer.private, message))
		expect(Curve.verify(signer.public, message, signature)).toBe(true)

		const tampered = Buffer.from(signature)
		tampered[10]! ^= 1
		expect(Curve.verify(signer.public, message, tampered)).toBe(false)
		expect(Curve.verify(other.public, message, signature)).toBe(false)
		expect(Curve.verify(signer.public, Buffer.from('other details'), signature)).toBe(false)
		expect(Curve.verify(signer.public, message, signature.subarray(0, 63))).toBe(false)
	})

	test('a server whose certificate chain another root signed is refused before anything is sent', async () => {
		trustRootKey(Buffer.from(Curve.generateKeyPair().public).toString('base64'))
		const impostor = new TestCompanion(standIn.wsUrl)
		const closed = new Promise<unknown>((resolve) => {
			impostor.start().ev.on('connection.update', (update) => {
				if (update.connection === 'close') resolve(update.lastDisconnect?.error)
			})
		})
		const error = (await closed) as Error
		impostor.end()
		expect(error.message).toBe('noise intermediate certificate signature invalid')
		expect(impostor.qrs).toEqual([])
		expect(standIn.stats().registrations).toBe(0)
	})

	test('the same server is accepted once its root is the trusted one', async () => {
		trustRootKey(standIn.rootPublicKey)
		const companion = new TestCompanion(standIn.wsUrl)
		companion.start()
		const qr = await companion.untilQr()
		companion.end()
		expect(qr.split(',').length).toBeGreaterThan(3)
	})
})
