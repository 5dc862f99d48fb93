import { afterAll, beforeAll, describe, expect, it } from 'bun:test'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { startStandIn, type StandIn } from '../src'
import { trustRootKey } from './root-key'
import { quietLibsignal, TestCompanion } from './companion'

const ACCOUNT = '15550000400'
const directory = mkdtempSync(join(tmpdir(), 'standin-'))
const statePath = join(directory, 'state.json')
let standIn: StandIn
let companion: TestCompanion
const restoreConsole = quietLibsignal()

const post = async (path: string, body: object) => {
	const response = await fetch(`${standIn.httpUrl}${path}`, { method: 'POST', body: JSON.stringify(body) })
	return { status: response.status, body: (await response.json()) as Record<string, unknown> }
}

beforeAll(async () => {
	standIn = await startStandIn({ statePath })
	trustRootKey(standIn.rootPublicKey)
	companion = new TestCompanion(standIn.wsUrl)
})

afterAll(async () => {
	companion.end()
	await standIn.stop()
	rmSync(directory, { recursive: true, force: true })
	restoreConsole()
})

describe('HTTP control routes', () => {
	it('GET /control shows the settings and the counters', async () => {
		const response = await fetch(`${standIn.httpUrl}/control`)
		expect(await response.json()).toMatchObject({ wsUrl: standIn.wsUrl, rootPublicKey: standIn.rootPublicKey, registrations: 0 })
	})

	it('POST /control/scan pairs the companion showing that QR', async () => {
		companion.start()
		const { status, body } = await post('/control/scan', { qr: await companion.untilQr(), phone: ACCOUNT })
		expect(status).toBe(200)
		expect(body.jid).toBe(`${ACCOUNT}:1@s.whatsapp.net`)
		await companion.untilOpen()
		await companion.untilInitialSync()
	})

	it('POST /control/messages delivers a message', async () => {
		const { body } = await post('/control/messages', { to: ACCOUNT, from: '15550000401', text: 'over http', encrypted: true })
		expect(await companion.textOf(String(body.id))).toBe('over http')
	})

	it('POST /control/history pushes a history sync', async () => {
		const before = companion.histories.length
		const { body } = await post('/control/history', { to: ACCOUNT, chats: 3, messagesPerChat: 4, chunkSize: 5 })
		expect(body).toMatchObject({ chunks: 3, messages: 12 })
		await companion.until(() => companion.histories.length >= before + 3, 'three chunks')
	})

	it('GET /control/sent lists what the companion sent, POST /control/receipts answers it', async () => {
		const sent = await companion.socket!.sendMessage('15550000401@s.whatsapp.net', { text: 'hi there' })
		const id = sent!.key.id!
		await standIn.waitForSent((message) => message.id === id)
		const list = (await (await fetch(`${standIn.httpUrl}/control/sent?phone=${ACCOUNT}`)).json()) as Array<{ id: string; text?: string }>
		expect(list.find((message) => message.id === id)?.text).toBe('hi there')

		expect((await post('/control/receipts', { ids: [id], type: 'read' })).status).toBe(200)
		await companion.untilStatus(id, 4)
	})

	it('answers 400 with a reason on a bad request, 404 on an unknown route', async () => {
		expect(await post('/control/scan', { qr: 'nonsense', phone: ACCOUNT })).toEqual({
			status: 400,
			body: { error: 'not a WhatsApp linking QR' },
		})
		expect((await post('/control/nothing', {})).status).toBe(404)
	})

	it('POST /control/kick drops the socket', async () => {
		const { body } = await post('/control/kick', { target: ACCOUNT })
		expect(body).toEqual({ kicked: 1 })
		expect(await companion.untilClosed(2)).toBe(428)
	})
})

describe('state file', () => {
	it('a restarted stand-in keeps its root key, its media CA and its linked devices', async () => {
		const rootPublicKey = standIn.rootPublicKey
		const mediaCa = standIn.mediaCa
		await standIn.stop()
		standIn = await startStandIn({ statePath })
		expect(standIn.rootPublicKey).toBe(rootPublicKey)
		expect(standIn.mediaCa).toEqual(mediaCa)
		expect(standIn.mediaCa.path).toBe(join(directory, 'state-media-ca.pem'))

		companion = new TestCompanion(standIn.wsUrl, { auth: companion.auth })
		companion.start()
		await companion.untilOpen()
		expect(companion.qrs).toHaveLength(0)
		const { id } = await standIn.deliverEncrypted({ to: ACCOUNT, from: '15550000401', text: 'still here' })
		expect(await companion.textOf(id)).toBe('still here')
	})
})
