import { afterAll, beforeAll, describe, expect, it } from 'bun:test'
import { startStandIn, type StandIn } from '../src'
import { pairedCompanion, quietLibsignal, type TestCompanion } from './companion'
import { trustRootKey } from './root-key'

const ACCOUNT = '15550000700'
const CONTACT = '15550000701'
const CONTACT_JID = `${CONTACT}@s.whatsapp.net`
let standIn: StandIn
let companion: TestCompanion
const restoreConsole = quietLibsignal()

const post = async (path: string, body: object) => {
	const response = await fetch(`${standIn.httpUrl}${path}`, { method: 'POST', body: JSON.stringify(body) })
	return { status: response.status, body: (await response.json()) as Record<string, unknown> }
}

beforeAll(async () => {
	standIn = await startStandIn()
	trustRootKey(standIn.rootPublicKey)
	;({ companion } = await pairedCompanion(standIn, ACCOUNT, 'Account'))
})
afterAll(async () => {
	companion.end()
	await standIn.stop()
	restoreConsole()
})

describe('people, through a real Baileys socket', () => {
	it('usync contact: every number is on WhatsApp unless POST /control/on-whatsapp says otherwise', async () => {
		expect(await companion.socket!.onWhatsApp(CONTACT)).toEqual([{ jid: CONTACT_JID, exists: true }])
		expect((await post('/control/on-whatsapp', { phone: CONTACT, registered: false })).status).toBe(200)
		expect(await companion.socket!.onWhatsApp(CONTACT)).toEqual([])
		expect(standIn.core.log.list('number-lookup').at(-1)?.phones).toEqual([`+${CONTACT}`])
		standIn.setOnWhatsApp(CONTACT, true)
	})

	it('w:profile:picture: the URL of the picture on the CDN; 404 without one, 401 when hidden', async () => {
		const image = Buffer.from([0xff, 0xd8, 0xff, 0xe0, 9, 8, 7])
		await post('/control/picture', { target: CONTACT, base64: image.toString('base64') })
		const url = await companion.socket!.profilePictureUrl(CONTACT_JID, 'image')
		const fetched = await fetch(url!, { tls: { ca: standIn.mediaCa.pem } } as RequestInit)
		expect(Buffer.from(await fetched.arrayBuffer())).toEqual(image)

		expect(await companion.socket!.profilePictureUrl('15550000702@s.whatsapp.net', 'image').catch((error) => error)).toMatchObject({ data: 404 })
		await standIn.setProfilePicture('15550000703', image, { hidden: true })
		expect(await companion.socket!.profilePictureUrl('15550000703@s.whatsapp.net', 'image').catch((error) => error)).toMatchObject({ data: 401 })
	})

	it('presence: what the companion shows is recorded; a contact it subscribed to is heard typing', async () => {
		const after = standIn.position
		await companion.socket!.sendPresenceUpdate('composing', CONTACT_JID)
		expect(await standIn.waitForPresence((p) => p.kind === 'chatstate', { after })).toMatchObject({ to: CONTACT_JID, state: 'composing' })

		expect((await post('/control/presence', { to: ACCOUNT, from: CONTACT, state: 'typing' })).body).toEqual({ delivered: 0 })
		await companion.socket!.presenceSubscribe(CONTACT_JID)
		await standIn.waitForPresence((p) => p.kind === 'subscribe' && p.to === CONTACT_JID, { after })
		const heard = new Promise((resolve) => companion.socket!.ev.on('presence.update', resolve))
		expect((await post('/control/presence', { to: ACCOUNT, from: CONTACT, state: 'typing' })).body).toEqual({ delivered: 1 })
		expect(await heard).toEqual({ id: CONTACT_JID, presences: { [CONTACT_JID]: { lastKnownPresence: 'composing' } } })
		expect((await post('/control/presence', { to: ACCOUNT, from: CONTACT, state: 'dancing' })).status).toBe(400)
	})
})
