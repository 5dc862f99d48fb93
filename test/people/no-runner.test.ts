import { afterAll, beforeAll, describe, expect, it } from 'bun:test'
import { eq } from 'drizzle-orm'
import { sessions } from '../../src/db/schema'
import { createVerifiedUser } from '../helpers/accounts'
import { startTestApp, type TestApp } from '../helpers/app'
import { clientFor, type Client } from '../helpers/sessions'

let app: TestApp
let alice: Client
let sessionId: string

beforeAll(async () => {
	// An API with no runner anywhere: nobody reads the command partitions.
	app = await startTestApp({ ROLES: 'api,consumer', QUERY_TIMEOUT_MS: '300', OUTBOX_RELAY_INTERVAL_MS: '50' })
	alice = clientFor(app, await createVerifiedUser(app))
	sessionId = (await alice.post('/sessions', {})).body.id
	// The row says connected (its runner died a moment ago, say): the API asks, and nobody answers.
	await app.server.database.db.update(sessions).set({ status: 'connected' }).where(eq(sessions.id, sessionId))
})
afterAll(async () => {
	await app?.close()
})

describe('a query no runner answers', () => {
	it('a number check answers 504 RUNNER_TIMEOUT after QUERY_TIMEOUT_MS', async () => {
		const res = await alice.post(`/sessions/${sessionId}/contacts/check`, { phoneNumbers: ['+1 555 040 0001'] })
		expect(res.status).toBe(504)
		expect(res.body.error.code).toBe('RUNNER_TIMEOUT')
	})

	it('a picture answers 504 RUNNER_TIMEOUT and caches nothing', async () => {
		const res = await alice.get(`/contacts/15550400001@s.whatsapp.net/picture?sessionId=${sessionId}`)
		expect(res.status).toBe(504)
		expect(res.body.error.code).toBe('RUNNER_TIMEOUT')
		expect((await alice.get(`/contacts/15550400001@s.whatsapp.net/picture?sessionId=${sessionId}`)).status).toBe(504)
	})
})
