import { afterAll, beforeAll, describe, expect, it } from 'bun:test'
import { type EmbeddedServer, startEmbeddedServer } from '../helpers/embedded'
import { eq } from 'drizzle-orm'
import { startStandIn, type StandIn } from '@switchboard/standin'
import { users } from '../../src/db/schema'
import { uniqueEmail } from '../helpers/accounts'
import { until } from '../helpers/until'

// Embedded mode: PGlite, the in-process bus, and the runner inline: queries answer through the
// in-process side channel.
let embedded: EmbeddedServer
let standIn: StandIn
let base: string
let auth: { authorization: string }

const call = async (method: string, path: string, body?: unknown) => {
	const res = await fetch(base + path, {
		method,
		headers: { ...auth, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
		body: body === undefined ? undefined : JSON.stringify(body),
	})
	return { status: res.status, res, body: (res.headers.get('content-type')?.startsWith('application/json') ? await res.json() : undefined) as any }
}

beforeAll(async () => {
	standIn = await startStandIn({ onError: () => {} })
	embedded = await startEmbeddedServer('people', {
		WA_WEBSOCKET_URL: standIn.wsUrl,
		WA_ROOT_PUBLIC_KEY: standIn.rootPublicKey,
		WA_MEDIA_CA_FILE: standIn.mediaCa.path,
	})
	base = embedded.url
	const email = uniqueEmail('embedded')
	const password = 'correct horse battery staple'
	const signup = await fetch(`${base}/users`, {
		method: 'POST',
		headers: { 'content-type': 'application/json' },
		body: JSON.stringify({ email, password }),
	})
	const { id } = (await signup.json()) as { id: string }
	await embedded.server.database.db.update(users).set({ verifiedAt: new Date() }).where(eq(users.id, id))
	const login = await fetch(`${base}/auth/login`, {
		method: 'POST',
		headers: { 'content-type': 'application/json' },
		body: JSON.stringify({ email, password }),
	})
	auth = { authorization: `Bearer ${((await login.json()) as { accessToken: string }).accessToken}` }
}, 120_000)
afterAll(async () => {
	await embedded?.close()
	await standIn?.stop()
})

describe('number checks and pictures in embedded mode', () => {
	it('answer through the in-process bus', async () => {
		const created = await call('POST', '/sessions', {})
		const sessionId = created.body.id as string
		const { qr } = await until(async () => {
			const s = (await call('GET', `/sessions/${sessionId}`)).body
			return s.status === 'qr' && s.qr && s
		}, 'a QR')
		await standIn.scanQr(qr, '15556100000')
		await until(async () => (await call('GET', `/sessions/${sessionId}`)).body.status === 'connected', 'connected')

		const checked = await call('POST', `/sessions/${sessionId}/contacts/check`, { phoneNumbers: ['+1 555 610 0001'] })
		expect(checked.status).toBe(200)
		expect(checked.body.results).toEqual([
			{ input: '+1 555 610 0001', exists: true, jid: '15556100001@s.whatsapp.net', lid: standIn.lidOf('15556100001') },
		])

		const image = new Uint8Array([0xff, 0xd8, 0xff, 0xe0, 1, 2, 3, 4])
		await standIn.setProfilePicture('15556100001', image)
		const picture = await call('GET', '/contacts/15556100001@s.whatsapp.net/picture')
		expect(picture.status).toBe(200)
		expect(new Uint8Array(await picture.res.arrayBuffer())).toEqual(image)
	}, 60_000)
})
