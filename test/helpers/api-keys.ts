import { expect } from 'bun:test'
import { api, type LoggedInUser } from './accounts'
import type { TestApp } from './app'

export interface TestApiKey {
	id: string
	key: string
	prefix: string
	scopes: string[]
	/** `{ authorization: 'Bearer <key>' }` */
	headers: { authorization: string }
}

/** Creates an API key as `owner` through the API. */
export async function createApiKey(app: TestApp, owner: LoggedInUser, scopes: string[], name = 'test key'): Promise<TestApiKey> {
	const res = await api(app).post('/api-keys', { name, scopes }, owner.headers)
	const body = (await res.json()) as TestApiKey
	expect(res.status).toBe(201)
	return { ...body, headers: { authorization: `Bearer ${body.key}` } }
}
