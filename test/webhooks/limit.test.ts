import { afterAll, beforeAll, describe, expect, it } from 'bun:test'
import { createVerifiedUser, expectError } from '../helpers/accounts'
import { startTestApp, type TestApp } from '../helpers/app'
import { clientFor, type Client } from '../helpers/sessions'
import { createWebhook } from './helpers'

const LIMIT = 3
let app: TestApp

beforeAll(async () => {
	app = await startTestApp({ ROLES: 'api', MAX_WEBHOOKS_PER_TENANT: String(LIMIT), WEBHOOK_ALLOW_PRIVATE_TARGETS: 'true' })
})
afterAll(() => app.close())

const newAccount = async () => clientFor(app, await createVerifiedUser(app))
const url = (n: number) => `http://127.0.0.1:9/hook-${n}`
const response = (res: { status: number; body: unknown }) => new Response(JSON.stringify(res.body), { status: res.status })
const count = async (api: Client) => (await api.get<{ items: unknown[] }>('/webhooks')).body.items.length

describe('webhooks per account', () => {
	it('refuses one more than MAX_WEBHOOKS_PER_TENANT with 409 WEBHOOK_LIMIT_REACHED, disabled ones counted, and takes one again once one is deleted', async () => {
		const alice = await newAccount()
		const made = [
			await createWebhook(alice, { url: url(1) }),
			await createWebhook(alice, { url: url(2) }),
			await createWebhook(alice, { url: url(3) }),
		]
		expect(
			(
				await alice.fetch(`/webhooks/${made[0]!.id}`, {
					method: 'PATCH',
					headers: { 'content-type': 'application/json' },
					body: JSON.stringify({ enabled: false }),
				})
			).status,
		).toBe(200)
		const refused = await expectError(response(await alice.post('/webhooks', { url: url(4) })), 409, 'WEBHOOK_LIMIT_REACHED')
		expect(refused.message).toBe(`This account already has ${LIMIT} webhooks, the most it may have (${LIMIT}); delete one to create another`)
		expect(refused.details).toEqual({ limit: LIMIT })
		expect(await count(alice)).toBe(LIMIT)
		expect((await alice.delete(`/webhooks/${made[0]!.id}`)).status).toBe(204)
		expect((await alice.post('/webhooks', { url: url(5) })).status).toBe(201)
		expect(await count(alice)).toBe(LIMIT)
	})

	it('lets no burst of concurrent creations past the limit', async () => {
		const bob = await newAccount()
		const answers = await Promise.all(Array.from({ length: 10 }, (_, i) => bob.post('/webhooks', { url: url(i) })))
		expect(answers.map((a) => a.status).sort()).toEqual([...Array(LIMIT).fill(201), ...Array(10 - LIMIT).fill(409)])
		expect(await count(bob)).toBe(LIMIT)
	})

	it('counts each account apart', async () => {
		const carol = await newAccount()
		const dave = await newAccount()
		for (let i = 0; i < LIMIT; i++) await createWebhook(carol, { url: url(i) })
		await expectError(response(await carol.post('/webhooks', { url: url(9) })), 409, 'WEBHOOK_LIMIT_REACHED')
		expect((await dave.post('/webhooks', { url: url(9) })).status).toBe(201)
	})
})
