import { afterAll, beforeAll, describe, expect, it } from 'bun:test'
import { type EmbeddedServer, startEmbeddedServer } from '../helpers/embedded'
import { eq } from 'drizzle-orm'
import { schema } from '../../src/db/client'
import { until } from '../helpers/until'

// Embedded mode: PGlite and no Redis, so revocations travel in process only (and every role but webhooks runs here).
let embedded: EmbeddedServer
let url: string

beforeAll(async () => {
	embedded = await startEmbeddedServer('keys', { ROLES: 'api,runner,consumer', API_KEY_LAST_USED_FLUSH_SECONDS: '1' })
	url = embedded.url
}, 90_000)
afterAll(() => embedded?.close())

const post = (path: string, body: unknown, headers: Record<string, string> = {}) =>
	fetch(url + path, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: JSON.stringify(body) })

describe('API keys in embedded mode', () => {
	it('work, record their last use in PGlite, and stop working once revoked', async () => {
		const email = `embedded-${Date.now()}@example.test`
		const password = 'correct horse battery staple'
		const user = (await (await post('/users', { email, password })).json()) as { id: string }
		await embedded.server.database.db.update(schema.users).set({ verifiedAt: new Date() }).where(eq(schema.users.id, user.id))
		const { accessToken } = (await (await post('/auth/login', { email, password })).json()) as { accessToken: string }
		const owner = { authorization: `Bearer ${accessToken}` }

		const created = await post('/api-keys', { name: 'local', scopes: ['sessions:read'] }, owner)
		expect(created.status).toBe(201)
		const { id, key } = (await created.json()) as { id: string; key: string }
		expect((await fetch(`${url}/sessions`, { headers: { 'x-api-key': key } })).status).toBe(200)
		await until(async () => {
			const { items } = (await (await fetch(`${url}/api-keys`, { headers: owner })).json()) as { items: { id: string; lastUsedAt: string | null }[] }
			return items.find((k) => k.id === id)?.lastUsedAt
		}, 'the last use in PGlite')

		expect((await fetch(`${url}/api-keys/${id}`, { method: 'DELETE', headers: owner })).status).toBe(204)
		expect((await fetch(`${url}/sessions`, { headers: { 'x-api-key': key } })).status).toBe(401)
	})
})
