import { afterAll, beforeAll, describe, expect, it } from 'bun:test'
import { eq } from 'drizzle-orm'
import { outbox, sessionAuth, sessions } from '../../src/db/schema'
import { expectError } from '../helpers/accounts'
import { pairedSession, startSessionsWorld, untilStatus, type ApiSession, type Client, type SessionsWorld } from '../helpers/sessions'
import { until } from '../helpers/until'

let world: SessionsWorld
let alice: Client

beforeAll(async () => {
	world = await startSessionsWorld({ MAX_SESSIONS_PER_TENANT: '3' })
	alice = await world.tenant()
})
afterAll(async () => {
	await world?.close()
})

const db = () => world.app.server.database.db
const row = async (id: string) => (await db().select().from(sessions).where(eq(sessions.id, id)))[0]

describe('creating a session', () => {
	it('answers 201 with the session, starting, and writes session.created and session.start with it', async () => {
		const res = await alice.post<ApiSession>('/sessions', { name: 'Front desk' })
		expect(res.status).toBe(201)
		expect(res.body).toMatchObject({
			name: 'Front desk',
			status: 'starting',
			desiredState: 'running',
			phoneNumber: null,
			jid: null,
			qr: null,
			pairingCode: null,
		})
		const types = (await db().select({ type: outbox.type, payload: outbox.payload }).from(outbox))
			.filter((r) => (r.payload as { sessionId: string }).sessionId === res.body.id)
			.map((r) => r.type)
		expect(types).toEqual(['session.created', 'session.start'])
		await world.events.waitFor('session.qr.updated', res.body.id)
	})

	it('shows the QR as PNG by default and as SVG on request, then the scan connects it', async () => {
		const { body: session } = await alice.post<ApiSession>('/sessions', {})
		const { data } = await world.events.waitFor('session.qr.updated', session.id)
		await untilStatus(alice, session.id, 'qr')

		const png = await alice.fetch(`/sessions/${session.id}/qr`)
		expect(png.status).toBe(200)
		expect(png.headers.get('content-type')).toBe('image/png')
		expect(png.headers.get('cache-control')).toBe('no-store')
		expect([...new Uint8Array(await png.arrayBuffer()).subarray(0, 8)]).toEqual([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a])

		for (const svg of [
			await alice.fetch(`/sessions/${session.id}/qr?format=svg`),
			await alice.fetch(`/sessions/${session.id}/qr`, { headers: { accept: 'image/svg+xml' } }),
			await alice.fetch(`/sessions/${session.id}/qr`, { headers: { accept: 'image/png;q=0.5, image/svg+xml' } }),
		]) {
			expect(svg.status).toBe(200)
			expect(svg.headers.get('content-type')).toStartWith('image/svg+xml')
			expect(await svg.text()).toStartWith('<svg')
		}
		const preferred = await alice.fetch(`/sessions/${session.id}/qr`, { headers: { accept: 'image/svg+xml;q=0.4, image/png' } })
		expect(preferred.headers.get('content-type')).toBe('image/png')

		const device = await world.standIn.scanQr((await alice.get<ApiSession>(`/sessions/${session.id}`)).body.qr ?? data.qr, '15550100001')
		await world.events.waitFor('session.status.connected', session.id)
		const connected = await untilStatus(alice, session.id, 'connected')
		expect(connected).toMatchObject({ jid: device.jid.replace(/:\d+@/, '@'), phoneNumber: '15550100001', qr: null })
		await expectError(await alice.fetch(`/sessions/${session.id}/qr`), 404, 'NO_QR')
	})

	it('with a phone number, pairs by code: the session shows the code to enter on that phone', async () => {
		const res = await alice.post<ApiSession>('/sessions', { phoneNumber: '+1 555-010 0002' })
		expect(res.status).toBe(201)
		expect(res.body.phoneNumber).toBe('15550100002')
		const { data } = await world.events.waitFor('session.pairing_code.updated', res.body.id)
		const shown = await until(
			async () => (await alice.get<ApiSession>(`/sessions/${res.body.id}`)).body.pairingCode,
			'the pairing code on the session',
		)
		expect(shown).toBe(data.code)
		const noQr = await expectError(await alice.fetch(`/sessions/${res.body.id}/qr`), 404, 'NO_QR')
		// Not "QRs exist while the status is qr", which the status already is: it says what to do instead.
		expect(noQr.message).toBe(
			'There is no QR to scan: this session pairs by code; enter its pairingCode on the phone (WhatsApp › Linked devices › Link with phone number)',
		)
		await world.standIn.enterPairingCode('15550100002', shown)
		await world.events.waitFor('session.status.connected', res.body.id)
		expect(await untilStatus(alice, res.body.id, 'connected')).toMatchObject({ pairingCode: null, jid: '15550100002@s.whatsapp.net' })
	})

	it('pairing by code: a stop and start before the code is typed shows a new code, not logged_out', async () => {
		const hank = await world.tenant()
		const res = await hank.post<ApiSession>('/sessions', { phoneNumber: '+1 555-010 0007' })
		const first = (await world.events.waitFor('session.pairing_code.updated', res.body.id)).data.code
		let after = world.events.events.length
		await hank.post(`/sessions/${res.body.id}/stop`)
		await world.events.waitFor('session.status.disconnected', res.body.id, { after, where: (e) => e.data.status === 'stopped' })
		after = world.events.events.length
		await hank.post(`/sessions/${res.body.id}/start`)
		const again = await world.events.waitFor('session.pairing_code.updated', res.body.id, { after })
		expect(again.data.code).not.toBe(first)
		expect(world.events.events.slice(after).filter((e) => e.sessionId === res.body.id && e.type === 'session.status.disconnected')).toEqual([])
		await world.standIn.enterPairingCode('15550100007', again.data.code)
		await world.events.waitFor('session.status.connected', res.body.id, { after })
		await untilStatus(hank, res.body.id, 'connected')
	})

	it('refuses a session beyond the per-tenant limit with 409 and says why', async () => {
		const bob = await world.tenant()
		for (let i = 0; i < 3; i++) expect((await bob.post('/sessions', {})).status).toBe(201)
		const refused = await expectError(
			await bob.fetch('/sessions', { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' }),
			409,
			'SESSION_LIMIT_REACHED',
		)
		expect(refused.message).toContain('(3)')
		// Concurrent creations cannot slip past the limit together.
		const carol = await world.tenant()
		const results = await Promise.all(Array.from({ length: 6 }, () => carol.post('/sessions', {})))
		expect(results.map((r) => r.status).sort()).toEqual([201, 201, 201, 409, 409, 409])
	})
})

describe('listing and reading sessions', () => {
	it('lists the tenant’s sessions oldest first, page by page', async () => {
		const dave = await world.tenant()
		const ids: string[] = []
		for (const name of ['one', 'two', 'three']) ids.push((await dave.post<ApiSession>('/sessions', { name })).body.id)
		const first = await dave.get('/sessions?limit=2')
		expect(first.status).toBe(200)
		expect(first.body.items.map((s: ApiSession) => s.name)).toEqual(['one', 'two'])
		const second = await dave.get(`/sessions?limit=2&cursor=${first.body.nextCursor}`)
		expect(second.body).toMatchObject({ items: [{ name: 'three', id: ids[2] }], nextCursor: null })
	})
})

describe('stop, start and delete', () => {
	let session: ApiSession
	let frank: Client
	beforeAll(async () => {
		frank = await world.tenant()
		session = await pairedSession(world, frank, '15550100003')
	})

	it('stop closes the socket without logging out, and a second stop is fine', async () => {
		const after = world.events.events.length
		const stopped = await frank.post<ApiSession>(`/sessions/${session.id}/stop`)
		expect(stopped.status).toBe(202)
		expect(stopped.body).toMatchObject({ id: session.id, desiredState: 'stopped' })
		await world.events.waitFor('session.status.disconnected', session.id, { after, where: (e) => e.data.status === 'stopped' })
		expect((await untilStatus(frank, session.id, 'stopped')).jid).toBe('15550100003@s.whatsapp.net')
		expect(world.standIn.device('15550100003').removed).toBeUndefined()

		const again = await frank.post<ApiSession>(`/sessions/${session.id}/stop`)
		expect(again.status).toBe(202)
		expect(again.body).toMatchObject({ status: 'stopped', desiredState: 'stopped' })
	})

	it('start logs in again with the stored credentials, without a QR', async () => {
		const after = world.events.events.length
		const started = await frank.post<ApiSession>(`/sessions/${session.id}/start`)
		expect(started.status).toBe(202)
		expect(started.body).toMatchObject({ status: 'starting', desiredState: 'running' })
		await world.events.waitFor('session.status.connected', session.id, { after })
		await untilStatus(frank, session.id, 'connected')
		expect(world.events.events.slice(after).some((e) => e.type === 'session.qr.updated' && e.sessionId === session.id)).toBe(false)
		// Starting a running session changes nothing.
		expect((await frank.post<ApiSession>(`/sessions/${session.id}/start`)).body).toMatchObject({ status: 'connected', desiredState: 'running' })
	})

	it('delete hides the session at once, unlinks the device, then deletes creds, data and the row', async () => {
		const after = world.events.events.length
		const deleted = await frank.delete<ApiSession>(`/sessions/${session.id}`)
		expect(deleted.status).toBe(202)
		expect(deleted.body).toMatchObject({ id: session.id, desiredState: 'stopped' })

		await expectError(await frank.fetch(`/sessions/${session.id}`), 404, 'NOT_FOUND')
		expect((await frank.get('/sessions')).body.items.map((s: ApiSession) => s.id)).not.toContain(session.id)
		await expectError(await frank.fetch(`/sessions/${session.id}`, { method: 'DELETE' }), 404, 'NOT_FOUND')
		await expectError(await frank.fetch(`/sessions/${session.id}/start`, { method: 'POST' }), 404, 'NOT_FOUND')

		await world.events.waitFor('session.deleted', session.id, { after })
		await world.standIn.waitForLogout('15550100003')
		expect(world.standIn.device('15550100003').removed).toBe('logout')
		await world.events.waitFor('session.status.disconnected', session.id, { after, where: (e) => e.data.status === 'logged_out' })
		await until(async () => !(await row(session.id)), 'the session row to be deleted')
		expect(await db().select().from(sessionAuth).where(eq(sessionAuth.sessionId, session.id))).toEqual([])
	})

	it('delete of a stopped, linked session still unlinks the device', async () => {
		const linked = await pairedSession(world, frank, '15550100004')
		const after = world.events.events.length
		await frank.post(`/sessions/${linked.id}/stop`)
		await world.events.waitFor('session.status.disconnected', linked.id, { after, where: (e) => e.data.status === 'stopped' })
		const deletedAt = world.events.events.length
		expect((await frank.delete(`/sessions/${linked.id}`)).status).toBe(202)
		await world.standIn.waitForLogout('15550100004')
		await until(async () => !(await row(linked.id)), 'the session row to be deleted')
		// The connection opened to unlink the device is no news: a deleted session never reads connected again.
		await world.events.waitFor('session.status.disconnected', linked.id, { after: deletedAt, where: (e) => e.data.status === 'logged_out' })
		expect(
			world.events.events
				.slice(deletedAt)
				.filter((e) => e.sessionId === linked.id)
				.map((e) => e.type),
		).not.toContain('session.status.connected')
	})

	it('a deleted session frees its place under the limit', async () => {
		const erin = await world.tenant()
		const made = await Promise.all([1, 2, 3].map(() => erin.post<ApiSession>('/sessions', {})))
		expect((await erin.post('/sessions', {})).status).toBe(409)
		expect((await erin.delete(`/sessions/${made[0]!.body.id}`)).status).toBe(202)
		expect((await erin.post('/sessions', {})).status).toBe(201)
	})
})

describe('a session id written in upper case', () => {
	it('names the same session on every route: stop, start, send and delete act on it, not on a stranger of that name', async () => {
		const gina = await world.tenant()
		const session = await pairedSession(world, gina, '15550100005')
		const upper = session.id.toUpperCase()
		let after = world.events.events.length
		expect((await gina.post<ApiSession>(`/sessions/${upper}/stop`)).body).toMatchObject({ id: session.id, desiredState: 'stopped' })
		await world.events.waitFor('session.status.disconnected', session.id, { after, where: (e) => e.data.status === 'stopped' })
		after = world.events.events.length
		expect((await gina.post(`/sessions/${upper}/start`)).status).toBe(202)
		await world.events.waitFor('session.status.connected', session.id, { after })
		await untilStatus(gina, session.id, 'connected')
		const sent = await gina.post(`/sessions/${upper}/messages`, { to: '+1 555 010 0006', text: 'same session' })
		expect(sent.status).toBe(202)
		expect((await world.standIn.waitForSent((m) => m.id === sent.body.messageId)).text).toBe('same session')
		// Every event names the session as it is, never as it was typed.
		expect(world.events.events.filter((e) => e.sessionId === upper)).toEqual([])
		expect((await gina.delete(`/sessions/${upper}`)).status).toBe(202)
		await world.standIn.waitForLogout('15550100005')
		await until(async () => !(await row(session.id)), 'the session row to be deleted')
	})
})

describe('tenant isolation', () => {
	it("another tenant's session answers 404 on every route and never shows in its list", async () => {
		const owner = await world.tenant()
		const { body: mine } = await owner.post<ApiSession>('/sessions', { name: 'private' })
		const mallory = await world.tenant()
		expect((await mallory.get('/sessions')).body).toEqual({ items: [], nextCursor: null })
		for (const [method, path] of [
			['GET', `/sessions/${mine.id}`],
			['GET', `/sessions/${mine.id}/qr`],
			['POST', `/sessions/${mine.id}/start`],
			['POST', `/sessions/${mine.id}/stop`],
			['DELETE', `/sessions/${mine.id}`],
		] as const)
			await expectError(await mallory.fetch(path, { method }), 404, 'NOT_FOUND')
		await expectError(
			await mallory.fetch(`/sessions/${mine.id}/messages`, {
				method: 'POST',
				headers: { 'content-type': 'application/json' },
				body: JSON.stringify({ to: '+15550100009', text: 'hi' }),
			}),
			404,
			'NOT_FOUND',
		)
		expect((await row(mine.id))?.desiredState).toBe('running')
	})
})
