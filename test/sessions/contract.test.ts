import { afterAll, beforeAll, describe, expect, it } from 'bun:test'
import { treaty } from '@elysiajs/eden'
import type { App } from '../../src/app'
import { createVerifiedUser, type LoggedInUser } from '../helpers/accounts'
import { startTestApp, type TestApp } from '../helpers/app'
import { clientFor, type ApiSession } from '../helpers/sessions'

let app: TestApp
let alice: LoggedInUser

beforeAll(async () => {
	app = await startTestApp({ ROLES: 'api' })
	alice = await createVerifiedUser(app)
})
afterAll(async () => {
	await app?.close()
})

describe('the contract of the sessions, chats and contacts routes', () => {
	it('is documented in OpenAPI: tags, summaries, named schemas and error responses', async () => {
		const doc = (await (await fetch(`${app.url}/swagger/json`)).json()) as {
			paths: Record<string, Record<string, { tags: string[]; summary: string; responses: Record<string, unknown> }>>
			components: { schemas: Record<string, unknown> }
		}
		const routes = [
			['post', '/sessions', 'sessions', ['201', '400', '401', '409']],
			['get', '/sessions', 'sessions', ['200', '400', '401']],
			['get', '/sessions/{id}', 'sessions', ['200', '400', '401', '404']],
			['get', '/sessions/{id}/qr', 'sessions', ['200', '400', '401', '404']],
			['post', '/sessions/{id}/start', 'sessions', ['202', '404']],
			['post', '/sessions/{id}/stop', 'sessions', ['202', '404']],
			['delete', '/sessions/{id}', 'sessions', ['202', '404']],
			['post', '/sessions/{id}/messages', 'sessions', ['202', '400', '404', '409', '413', '422']],
			['get', '/chats', 'chats', ['200', '400', '404']],
			['get', '/chats/{jid}/messages', 'chats', ['200', '400', '404']],
			['post', '/chats/{jid}/messages', 'chats', ['202', '400', '409', '422']],
			['get', '/contacts', 'contacts', ['200', '400', '404']],
		] as const
		for (const [method, path, tag, statuses] of routes) {
			const op = doc.paths[path]?.[method]
			expect(op, `${method} ${path}`).toBeDefined()
			expect(op!.tags).toEqual([tag])
			expect(op!.summary.length).toBeGreaterThan(0)
			expect(Object.keys(op!.responses)).toEqual(expect.arrayContaining([...statuses]))
		}
		expect((doc.paths['/sessions/{id}/qr']!.get!.responses['200'] as { content: object }).content).toHaveProperty(['image/png'])
		for (const name of ['Session', 'SessionPage', 'AccessToken', 'MessageAccepted', 'ChatPage', 'MessagePage', 'ContactPage'])
			expect(doc.components.schemas).toHaveProperty([name])
		// One name, one meaning: `Session` is a WhatsApp session, the login answers an `AccessToken`.
		expect(doc.components.schemas.Session).toHaveProperty(['properties', 'status'])
		expect(doc.components.schemas.AccessToken).toHaveProperty(['properties', 'accessToken'])
	})

	it('is typed for the Eden client through the exported App type', async () => {
		const client = treaty<App>(app.url)
		const headers = { ...alice.headers, 'x-forwarded-for': '10.7.7.7' }
		const created = await client.sessions.post({ name: 'eden' }, { headers })
		expect(created.status).toBe(201)
		const id: string = created.data!.id
		const status: 'starting' | 'qr' | 'connected' | 'reconnecting' | 'stopped' | 'logged_out' | 'failed' = created.data!.status
		expect(status).toBe('starting')

		const list = await client.sessions.get({ headers, query: { limit: 10 } })
		expect(list.data?.items.map((s) => s.id)).toEqual([id])
		const stopped = await client.sessions({ id }).stop.post(undefined, { headers })
		expect(stopped.data?.desiredState).toBe('stopped')

		const missing = await client.chats({ jid: '15550600001@s.whatsapp.net' }).messages.get({ headers, query: {} })
		expect(missing.status).toBe(404)
		expect(missing.error?.value).toMatchObject({ error: { code: 'NOT_FOUND' } })
		const contacts = await client.contacts.get({ headers, query: { q: 'nobody' } })
		expect(contacts.data).toEqual({ items: [], nextCursor: null })
	})
})

describe('a session created without a name', () => {
	it('is named "Session <n>", never the name of another live session', async () => {
		const bob = clientFor(app, await createVerifiedUser(app))
		const create = async (name?: string) => (await bob.post<ApiSession>('/sessions', name === undefined ? {} : { name })).body
		const first = await create()
		const second = await create()
		expect([first.name, second.name]).toEqual(['Session 1', 'Session 2'])
		expect((await bob.delete(`/sessions/${first.id}`)).status).toBe(202)
		// One live session, named "Session 2": counting alone would name the next one "Session 2" again.
		expect((await create()).name).toBe('Session 3')
		await create('Session 9')
		expect((await create()).name).toBe('Session 10')
		const names = ((await bob.get('/sessions')).body as { items: ApiSession[] }).items.map((s) => s.name)
		expect(new Set(names).size).toBe(names.length)
	})
})
