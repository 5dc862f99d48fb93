import { afterAll, beforeAll, describe, expect, it } from 'bun:test'
import { domainEvent } from '../../src/core/catalogue'
import { createVerifiedUser } from '../helpers/accounts'
import { startTestApp, type TestApp } from '../helpers/app'
import { type ApiSession, type Client, clientFor } from '../helpers/sessions'
import { until } from '../helpers/until'

/**
 * Lists sorted by name sort accented names with their letters (`Ângela` beside `angela`), not after
 * `z` as the code points of a C collation would: a support desk in Brazil or France meets such names
 * on every page, and type them without their accents.
 */

let app: TestApp
let alice: Client
let session: ApiSession

const NAMES = ['zoe', 'Ângela', 'bruno', 'Érica', 'émile', 'Ana', 'Øystein', 'ORLA']
const pn = (i: number) => `1555060${String(i).padStart(4, '0')}@s.whatsapp.net`
const group = (i: number) => `12036300000000${String(i).padStart(4, '0')}@g.us`

async function all(path: string, limit: number): Promise<string[]> {
	const names: string[] = []
	let cursor: string | null = null
	do {
		const page: string = `${path}${path.includes('?') ? '&' : '?'}limit=${limit}${cursor ? `&cursor=${cursor}` : ''}`
		const { status, body } = await alice.get<{ items: { displayName?: string; subject?: string }[]; nextCursor: string | null }>(page)
		expect(status).toBe(200)
		names.push(...body.items.map((item) => item.displayName ?? item.subject ?? ''))
		cursor = body.nextCursor
	} while (cursor)
	return names
}

beforeAll(async () => {
	app = await startTestApp({ ROLES: 'api,consumer' })
	alice = clientFor(app, await createVerifiedUser(app))
	session = (await alice.post<ApiSession>('/sessions', {})).body
	const meta = { tenantId: alice.user.user.tenantId, sessionId: session.id }
	await app.server.bus.publish([
		domainEvent('session.history.sync', meta, {
			messages: [],
			chats: [],
			contacts: NAMES.map((name, i) => ({ jid: pn(i), name })),
			lidPnMappings: [],
		}),
		domainEvent('session.groups.upsert', meta, { groups: NAMES.map((subject, i) => ({ jid: group(i), subject })) }),
	])
	await until(
		async () =>
			(await alice.get(`/contacts?sessionId=${session.id}&limit=200`)).body.items?.length === NAMES.length &&
			(await alice.get(`/sessions/${session.id}/groups?limit=200`)).body.items?.length === NAMES.length,
		'the consumer to store the contacts and groups',
	)
})
afterAll(() => app.close())

describe('names with accents', () => {
	// Ø is a letter of its own, not an O with a mark: it stays after the Latin letters.
	const expected = ['Ana', 'Ângela', 'bruno', 'émile', 'Érica', 'ORLA', 'zoe', 'Øystein']

	it('sort with their letters in GET /contacts, page by page', async () => {
		for (const limit of [1, 3, 200]) expect(await all(`/contacts?sessionId=${session.id}`, limit)).toEqual(expected)
	})

	it('sort with their letters in GET /sessions/:id/groups, page by page', async () => {
		for (const limit of [1, 3, 200]) expect(await all(`/sessions/${session.id}/groups`, limit)).toEqual(expected)
	})

	it('are found without their accents, and with them, by the contacts search', async () => {
		expect(await all(`/contacts?sessionId=${session.id}&q=angela`, 10)).toEqual(['Ângela'])
		expect(await all(`/contacts?sessionId=${session.id}&q=ERICA`, 10)).toEqual(['Érica'])
		expect(await all(`/contacts?sessionId=${session.id}&q=${encodeURIComponent('Émile')}`, 10)).toEqual(['émile'])
		expect(await all(`/contacts?sessionId=${session.id}&q=${encodeURIComponent('ângela')}`, 10)).toEqual(['Ângela'])
	})
})
