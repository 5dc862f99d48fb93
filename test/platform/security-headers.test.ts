import { afterAll, beforeAll, describe, expect, it } from 'bun:test'
import { api, createVerifiedUser } from '../helpers/accounts'
import { startTestApp, type TestApp } from '../helpers/app'

let app: TestApp
beforeAll(async () => {
	app = await startTestApp()
})
afterAll(() => app.close())

const SECURITY_HEADERS = {
	'x-content-type-options': 'nosniff',
	'referrer-policy': 'no-referrer',
	'x-frame-options': 'DENY',
	'content-security-policy': "default-src 'none'; frame-ancestors 'none'",
	'cache-control': 'no-store',
}

const headersOf = (res: Response) => Object.fromEntries(Object.keys(SECURITY_HEADERS).map((name) => [name, res.headers.get(name)]))

describe('security headers', () => {
	it('come with every kind of answer: a login, a page of a list, an error, a probe', async () => {
		const alice = await createVerifiedUser(app)
		const answers = [
			await api(app).post('/auth/login', { email: alice.email, password: alice.password }),
			await api(app).post('/auth/login', { email: alice.email, password: 'wrong password!' }),
			await api(app).get('/sessions', alice.headers),
			await api(app).get('/users/me', alice.headers),
			await api(app).get('/no/such/route'),
			await api(app).post('/sessions', 'not json', { ...alice.headers, 'content-type': 'text/plain' }),
			await api(app).get('/health'),
		]
		for (const res of answers) expect(headersOf(res)).toEqual(SECURITY_HEADERS)
	})
})
