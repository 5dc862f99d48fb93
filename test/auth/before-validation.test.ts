import { afterAll, beforeAll, describe, expect, it } from 'bun:test'
import { startTestApp, type TestApp } from '../helpers/app'
import { createVerifiedUser } from '../helpers/accounts'

let app: TestApp
beforeAll(async () => {
	app = await startTestApp({ ROLES: 'api' })
})
afterAll(() => app.close())

const postSession = (body: string, headers: Record<string, string> = {}) =>
	fetch(`${app.url}/sessions`, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body })

describe('authentication comes before validation', () => {
	it('answers 401, not a validation error, to a caller without a token and a bad body', async () => {
		const res = await postSession(JSON.stringify({ name: 12, phoneNumber: ['x'] }))
		expect(res.status).toBe(401)
		expect(((await res.json()) as { error: { code: string } }).error.code).toBe('UNAUTHORIZED')
	})

	it('answers 401 to a forged token with a bad body', async () => {
		const res = await postSession(JSON.stringify({ name: 12 }), { authorization: 'Bearer not.a.jwt' })
		expect(res.status).toBe(401)
	})

	it('validates the body once the token is good', async () => {
		const { headers } = await createVerifiedUser(app)
		const res = await postSession(JSON.stringify({ name: 12 }), headers)
		expect(res.status).toBe(400)
		expect(((await res.json()) as { error: { code: string } }).error.code).toBe('VALIDATION_FAILED')
	})
})
