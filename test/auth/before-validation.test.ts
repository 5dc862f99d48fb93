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

	it('answers 401, not a parse error, to a caller without a token and a body that is not JSON', async () => {
		for (const [body, type] of [
			['{"name": ', 'application/json'],
			['[1, 2]', 'application/json'],
			['name=x', 'application/x-www-form-urlencoded'],
		]) {
			const res = await postSession(body!, { 'content-type': type! })
			expect({ body, status: res.status, code: ((await res.json()) as { error: { code: string } }).error.code }).toEqual({
				body,
				status: 401,
				code: 'UNAUTHORIZED',
			})
		}
	})

	it('answers 403 to a key without the scope and a body that is not JSON', async () => {
		const owner = await createVerifiedUser(app)
		const created = await fetch(`${app.url}/api-keys`, {
			method: 'POST',
			headers: { ...owner.headers, 'content-type': 'application/json' },
			body: JSON.stringify({ name: 'reader', scopes: ['sessions:read'] }),
		})
		const { key } = (await created.json()) as { key: string }
		const res = await postSession('{"name": ', { authorization: `Bearer ${key}` })
		expect(res.status).toBe(403)
		expect(((await res.json()) as { error: { code: string } }).error.code).toBe('INSUFFICIENT_SCOPE')
	})

	it('says what is wrong with the body once the caller may call the route, and on routes that need no credential', async () => {
		const { headers } = await createVerifiedUser(app)
		const malformed = await postSession('{"name": ', headers)
		expect(malformed.status).toBe(400)
		expect(((await malformed.json()) as { error: { code: string } }).error.code).toBe('MALFORMED_BODY')
		const form = await postSession('name=x', { ...headers, 'content-type': 'application/x-www-form-urlencoded' })
		expect(form.status).toBe(415)
		const login = await fetch(`${app.url}/auth/login`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"email"' })
		expect(login.status).toBe(400)
		expect(((await login.json()) as { error: { code: string } }).error.code).toBe('MALFORMED_BODY')
	})
})
