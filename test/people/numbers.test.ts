import { afterAll, beforeAll, describe, expect, it } from 'bun:test'
import { pairedSession, startSessionsWorld, type ApiSession, type Client, type SessionsWorld } from '../helpers/sessions'
import { until } from '../helpers/until'

let world: SessionsWorld
let alice: Client
let session: ApiSession

const PHONE = '15550400000'
const FRIEND = '15550400001'
const STRANGER = '15550400002'
const NOBODY = '15550400009'

beforeAll(async () => {
	// A small allowance, so running out of it takes a few requests.
	world = await startSessionsWorld({ NUMBER_CHECK_MAX_NUMBERS: '5', NUMBER_CHECK_LIMIT: '12', NUMBER_CHECK_WINDOW_SECONDS: '3600' })
	alice = await world.tenant()
	session = await pairedSession(world, alice, PHONE)
	world.standIn.setOnWhatsApp(NOBODY, false)
})
afterAll(async () => {
	await world?.close()
})

const check = (api: Client, id: string, phoneNumbers: unknown) => api.post(`/sessions/${id}/contacts/check`, { phoneNumbers })

describe('POST /sessions/:id/contacts/check', () => {
	it('answers each number as written: on WhatsApp with its JID and LID, or not', async () => {
		const res = await check(alice, session.id, ['+1 555-040 0001', '15550400009', '001 (555) 040-0002'])
		expect(res.status).toBe(200)
		expect(res.body.results).toEqual([
			{ input: '+1 555-040 0001', exists: true, jid: `${FRIEND}@s.whatsapp.net`, lid: world.standIn.lidOf(FRIEND) },
			{ input: '15550400009', exists: false, jid: null, lid: null },
			{ input: '001 (555) 040-0002', exists: true, jid: `${STRANGER}@s.whatsapp.net`, lid: world.standIn.lidOf(STRANGER) },
		])
	})

	it('asks WhatsApp once for the whole list, each number once', async () => {
		const before = world.standIn.core.log.list('number-lookup').length
		const res = await check(alice, session.id, [FRIEND, `+${FRIEND}`, STRANGER])
		expect(res.status).toBe(200)
		expect(res.body.results.map((r: { exists: boolean }) => r.exists)).toEqual([true, true, true])
		const lookups = world.standIn.core.log.list('number-lookup').slice(before)
		expect(lookups.map((l) => l.phones)).toEqual([[`+${FRIEND}`, `+${STRANGER}`]])
	})

	it('answers a number that is not one with exists false and a reason, and still checks the others', async () => {
		const long = '1'.repeat(200)
		const res = await check(alice, session.id, ['not a number', '0555 123', '', long, FRIEND])
		expect(res.status).toBe(200)
		expect(res.body.results).toEqual([
			{ input: 'not a number', exists: false, jid: null, lid: null, reason: 'invalid_number' },
			{ input: '0555 123', exists: false, jid: null, lid: null, reason: 'invalid_number' },
			{ input: '', exists: false, jid: null, lid: null, reason: 'invalid_number' },
			{ input: long, exists: false, jid: null, lid: null, reason: 'invalid_number' },
			{ input: FRIEND, exists: true, jid: `${FRIEND}@s.whatsapp.net`, lid: world.standIn.lidOf(FRIEND) },
		])
	})

	it('refuses more numbers than NUMBER_CHECK_MAX_NUMBERS at once with 400 TOO_MANY_NUMBERS', async () => {
		const res = await check(alice, session.id, ['1', '2', '3', '4', '5', '6'])
		expect(res.status).toBe(400)
		expect(res.body.error).toMatchObject({ code: 'TOO_MANY_NUMBERS', details: { max: 5, given: 6 } })
	})

	it('refuses a body without numbers with 400', async () => {
		for (const body of [[], 'x', [1, 2]]) {
			const res = await check(alice, session.id, body)
			expect(res.status).toBe(400)
			expect(res.body.error.code).toBe('VALIDATION_FAILED')
		}
	})

	it("answers 404 for another account's session, and 404 for an unknown one", async () => {
		const bob = await world.tenant()
		expect((await check(bob, session.id, [FRIEND])).body.error.code).toBe('NOT_FOUND')
		expect((await check(bob, session.id, [FRIEND])).status).toBe(404)
		expect((await check(alice, Bun.randomUUIDv7(), [FRIEND])).status).toBe(404)
	})

	it('answers 409 SESSION_NOT_CONNECTED while the session is not connected', async () => {
		const carol = await world.tenant()
		const other = await pairedSession(world, carol, '15550400003')
		await carol.post(`/sessions/${other.id}/stop`)
		await until(async () => (await carol.get(`/sessions/${other.id}`)).body.status === 'stopped', 'stopped')
		const res = await check(carol, other.id, [FRIEND])
		expect(res.status).toBe(409)
		expect(res.body.error).toMatchObject({ code: 'SESSION_NOT_CONNECTED', details: { status: 'stopped' } })
	})

	it('counts numbers per session and answers 429 with Retry-After once the allowance is spent', async () => {
		const dave = await world.tenant()
		const own = await pairedSession(world, dave, '15550400004')
		const five = ['15550401001', '15550401002', '15550401003', '15550401004', '15550401005']
		expect((await check(dave, own.id, five)).status).toBe(200)
		expect((await check(dave, own.id, five)).status).toBe(200)
		// 10 of 12 spent: 2 more pass, 3 more do not.
		const refused = await check(dave, own.id, five.slice(0, 3))
		expect(refused.status).toBe(429)
		expect(refused.body.error.code).toBe('RATE_LIMITED')
		expect(Number(refused.headers.get('retry-after'))).toBeGreaterThan(0)
		// Another session's allowance is its own.
		expect((await check(alice, session.id, [FRIEND])).status).toBe(200)
	})
})
