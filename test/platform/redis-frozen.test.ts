import { afterAll, beforeAll, describe, expect, it } from 'bun:test'
import { sql } from 'drizzle-orm'
import { createVerifiedUser, type LoggedInUser } from '../helpers/accounts'
import { startTestApp, type TestApp } from '../helpers/app'
import { startPrivateRedis } from '../helpers/private-redis'

/**
 * The API while its Redis is frozen (a paused host, a stalled network): connections stay open and
 * nothing answers, so nothing errs either. A request that counts through Redis (a rate limit) or
 * asks a runner through it must still be answered, not held until the client gives up.
 */

let redis: Awaited<ReturnType<typeof startPrivateRedis>>
let app: TestApp
let alice: LoggedInUser
let apiKey: string
let sessionId: string

beforeAll(async () => {
	redis = await startPrivateRedis({ persist: false })
	app = await startTestApp({ REDIS_URL: redis.url, ROLES: 'api', QUERY_TIMEOUT_MS: '1000' })
	alice = await createVerifiedUser(app)
	const json = { ...alice.headers, 'content-type': 'application/json' }
	apiKey = (
		(await (await fetch(`${app.url}/api-keys`, { method: 'POST', headers: json, body: '{"name":"bot","scopes":["*"]}' })).json()) as { key: string }
	).key
	sessionId = ((await (await fetch(`${app.url}/sessions`, { method: 'POST', headers: json, body: '{}' })).json()) as { id: string }).id
	redis.freeze()
})
afterAll(async () => {
	redis?.thaw()
	await app?.close()
	await redis?.close()
})

/** The answer's status, or 'no answer' after 8 s. */
const answer = (path: string, init: RequestInit = {}) =>
	fetch(`${app.url}${path}`, { ...init, signal: AbortSignal.timeout(8_000) }).then(
		(res) => res.status,
		() => 'no answer',
	)

describe('a frozen Redis', () => {
	it('leaves sign-in and API keys working: the rate limits count in this process meanwhile', async () => {
		const login = answer('/auth/login', {
			method: 'POST',
			headers: { 'content-type': 'application/json' },
			body: JSON.stringify({ email: alice.email, password: alice.password }),
		})
		const withKey = answer('/sessions', { headers: { 'x-api-key': apiKey } })
		expect(await Promise.all([login, withKey])).toEqual([200, 200])
	})

	it('answers a question for a runner with 504 once its wait is over', async () => {
		// Marked connected, so that the question goes out over Redis (to a runner that cannot hear it).
		await app.server.database.db.execute(sql`update sessions set status = 'connected', jid = '15550009999@s.whatsapp.net' where id = ${sessionId}`)
		const check = await answer(`/sessions/${sessionId}/contacts/check`, {
			method: 'POST',
			headers: { ...alice.headers, 'content-type': 'application/json' },
			body: '{"phoneNumbers":["15550001111"]}',
		})
		expect(check).toBe(504)
	})
})
