import { afterAll, beforeAll, describe, expect, it } from 'bun:test'
import { jwt } from '@elysiajs/jwt'
import postgres from 'postgres'
import { USER_REMOVED_CHANNEL } from '../../src/modules/auth/user-removals'
import { api, createVerifiedUser, expectError } from '../helpers/accounts'
import { startTestApp, type TestApp } from '../helpers/app'
import { until } from '../helpers/until'

/** How access tokens are presented and when they stop working, as seen from outside. */

let app: TestApp
let sql: postgres.Sql

beforeAll(async () => {
	app = await startTestApp()
	sql = postgres(app.database.url, { max: 2, onnotice: () => {} })
})
afterAll(async () => {
	await sql.end()
	await app.close()
})

const me = (headers: Record<string, string> = {}, query = '') => api(app).get(`/users/me${query}`, headers)

describe('presenting an access token on REST', () => {
	it('takes it from `Authorization: Bearer <token>`, the scheme in any case', async () => {
		const alice = await createVerifiedUser(app)
		expect((await me({ authorization: `Bearer ${alice.accessToken}` })).status).toBe(200)
		expect((await me({ authorization: `bearer ${alice.accessToken}` })).status).toBe(200)
	})

	it('never takes it from the URL, even on a request that asks for a WebSocket upgrade', async () => {
		const alice = await createVerifiedUser(app)
		await expectError(await me({}, `?accessToken=${alice.accessToken}`), 401, 'UNAUTHORIZED')
		await expectError(await me({ upgrade: 'websocket', connection: 'Upgrade' }, `?accessToken=${alice.accessToken}`), 401, 'UNAUTHORIZED')
	})

	it.each([
		['with junk after the token', (t: string) => `Bearer ${t} junk`],
		['with two spaces', (t: string) => `Bearer  ${t}`],
		['without the scheme', (t: string) => t],
		['with another scheme', (t: string) => `Token ${t}`],
	])('refuses a header %s', async (_, header) => {
		const alice = await createVerifiedUser(app)
		await expectError(await me({ authorization: header(alice.accessToken) }), 401, 'UNAUTHORIZED')
	})
})

/** A signer with the server's own secret: what someone who knows the secret could make. */
const signer = () =>
	jwt({
		name: 'accessToken',
		secret: app.config.jwtSecret,
		alg: 'HS256',
		iss: 'switchboard',
		aud: 'switchboard-api',
	}).decorator.accessToken

describe('tokens that stop working', () => {
	it('refuses a token signed with the right secret whose subject is not a uuid with 401, not 500', async () => {
		const accessToken = signer()
		const alice = await createVerifiedUser(app)
		for (const sub of ['not-a-uuid', "1' or '1'='1", ''])
			await expectError(
				await me({
					authorization: `Bearer ${await accessToken.sign({ sub, tid: alice.user.tenantId, ver: 0, exp: Math.floor(Date.now() / 1000) + 600 })}`,
				}),
				401,
				'UNAUTHORIZED',
			)
	})

	it("refuses a token that names another tenant than its user's, even signed with the right secret", async () => {
		const accessToken = signer()
		const [alice, bob] = await Promise.all([createVerifiedUser(app), createVerifiedUser(app)])
		const bearer = async (tid: string) => ({
			authorization: `Bearer ${await accessToken.sign({ sub: alice.user.id, tid, ver: 0, exp: Math.floor(Date.now() / 1000) + 600 })}`,
		})
		// The same token with the user's own tenant passes: only the tenant differs.
		expect((await api(app).get('/sessions', await bearer(alice.user.tenantId))).status).toBe(200)
		await expectError(await api(app).get('/sessions', await bearer(bob.user.tenantId)), 401, 'UNAUTHORIZED')
		await expectError(await me(await bearer(bob.user.tenantId)), 401, 'UNAUTHORIZED')
	})

	it('refuses the tokens of a user removed from the database at once', async () => {
		const alice = await createVerifiedUser(app)
		expect((await me(alice.headers)).status).toBe(200) // its token version is now cached
		const announced = new Promise<void>((resolve) => {
			void sql.listen(USER_REMOVED_CHANNEL, (id) => id === alice.user.id && resolve())
		})
		await sql`delete from users where id = ${alice.user.id}`
		await announced
		// The notice reaches the app's own listener as it reached this one; well inside the 15 s the
		// cached version would otherwise be trusted.
		await until(async () => (await me(alice.headers)).status === 401, 'the removed user refused', 3_000)
	})
})
