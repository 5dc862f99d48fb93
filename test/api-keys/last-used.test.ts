import { afterAll, beforeAll, describe, expect, it } from 'bun:test'
import { api, createVerifiedUser } from '../helpers/accounts'
import { createApiKey } from '../helpers/api-keys'
import { startTestApp, type TestApp } from '../helpers/app'
import { until } from '../helpers/until'

let app: TestApp
beforeAll(async () => {
	app = await startTestApp({ ROLES: 'api', API_KEY_LAST_USED_FLUSH_SECONDS: '1' })
})
afterAll(() => app?.close())

describe('lastUsedAt', () => {
	it('shows when a key was last used, written in the next flush', async () => {
		const alice = await createVerifiedUser(app)
		const key = await createApiKey(app, alice, ['sessions:read'])
		const unused = await createApiKey(app, alice, ['sessions:read'])
		const lastUsedOf = async (id: string) => {
			const { items } = (await (await api(app).get('/api-keys', alice.headers)).json()) as { items: { id: string; lastUsedAt: string | null }[] }
			return items.find((k) => k.id === id)!.lastUsedAt
		}
		expect(await lastUsedOf(key.id)).toBeNull()
		const before = Date.now()
		expect((await api(app).get('/sessions', key.headers)).status).toBe(200)
		const first = await until(() => lastUsedOf(key.id), 'the first use to be written')
		expect(Date.parse(first)).toBeGreaterThanOrEqual(before - 1000)

		expect((await api(app).get('/sessions', key.headers)).status).toBe(200)
		const second = await until(async () => {
			const at = await lastUsedOf(key.id)
			return at !== first && at
		}, 'the second use to be written')
		expect(Date.parse(second)).toBeGreaterThan(Date.parse(first))
		expect(await lastUsedOf(unused.id)).toBeNull()
	})
})
