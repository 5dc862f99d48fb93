import { afterAll, beforeAll, describe, expect, it } from 'bun:test'
import type { AnyElysia } from 'elysia'
import { SCOPE_NAMES, SCOPES } from '../../src/core/scopes'
import { createVerifiedUser, type LoggedInUser } from '../helpers/accounts'
import { createApiKey, type TestApiKey } from '../helpers/api-keys'
import { startTestApp, type TestApp } from '../helpers/app'

/**
 * Every route that asks for credentials also says which scope an API key needs for it (or that
 * only a signed-in user reaches it): a route added without that decision fails here.
 */

let app: TestApp
let owner: LoggedInUser
beforeAll(async () => {
	app = await startTestApp({ ROLES: 'api' })
	owner = await createVerifiedUser(app)
})
afterAll(() => app?.close())

interface Route {
	method: string
	path: string
	hooks: { detail?: { 'x-required-scope'?: string } }
}
const routesOf = (target: TestApp) => (target.server.app as AnyElysia).routes as unknown as Route[]
const concrete = (path: string) => path.replace(/:[^/]+/g, '0190f0f0-0000-7000-8000-000000000000').replace('*', 'x')

describe('the route table', () => {
	it('has a scope decision on every route that refuses a caller without an access token or key', async () => {
		const undecided: string[] = []
		let authenticated = 0
		for (const route of routesOf(app)) {
			if (route.method === 'WS') continue
			const res = await fetch(`${app.url}${concrete(route.path)}`, { method: route.method })
			// 401 UNAUTHORIZED is the auth macro's answer; the refresh route's cookie is a credential of its own.
			if (res.status !== 401 || ((await res.json()) as { error: { code: string } }).error.code !== 'UNAUTHORIZED') continue
			authenticated++
			const scope = route.hooks.detail?.['x-required-scope']
			if (scope !== 'user' && !(scope && scope in SCOPES && scope !== '*')) undecided.push(`${route.method} ${route.path}`)
		}
		expect(undecided).toEqual([])
		expect(authenticated).toBeGreaterThan(15)
	})

	it('has a scope decision on every WebSocket route', () => {
		const sockets = routesOf(app).filter((r) => r.method === 'WS')
		expect(sockets.length).toBeGreaterThan(0)
		for (const route of sockets) expect(route.hooks.detail?.['x-required-scope'], route.path).toBeDefined()
	})
})

/** Every HTTP route that names a scope decision, with a request that reaches it. */
const decided = (target: TestApp) =>
	routesOf(target).flatMap((route) => {
		const scope = route.hooks.detail?.['x-required-scope']
		return route.method !== 'WS' && scope ? [{ ...route, scope }] : []
	})
const call = (route: Route, headers: Record<string, string>) =>
	fetch(`${app.url}${concrete(route.path)}`, {
		method: route.method,
		headers: { ...headers, ...(['POST', 'PATCH', 'PUT'].includes(route.method) ? { 'content-type': 'application/json' } : {}) },
		body: ['POST', 'PATCH', 'PUT'].includes(route.method) ? '{}' : undefined,
	})

/** One key per set of scopes, made on first use: routes share them, so the account stays under its key limit however many routes there are. */
const keys = new Map<string, Promise<TestApiKey>>()
const keyWith = (scopes: string[]) => {
	const name = scopes.join(' ')
	if (!keys.has(name)) keys.set(name, createApiKey(app, owner, scopes, name))
	return keys.get(name)!
}

describe('every route, called with an API key', () => {
	it('refuses a key that holds every scope but the one the route needs, naming it', async () => {
		const routes = decided(app).filter((r) => r.scope !== 'user')
		expect(routes.length).toBeGreaterThan(15)
		for (const route of routes) {
			const others = SCOPE_NAMES.filter((scope) => scope !== route.scope && scope !== '*')
			const key = await keyWith(others)
			const res = await call(route, key.headers)
			const body = (await res.json()) as { error: { code: string; message: string } }
			expect({ route: `${route.method} ${route.path}`, status: res.status, code: body.error.code }).toEqual({
				route: `${route.method} ${route.path}`,
				status: 403,
				code: 'INSUFFICIENT_SCOPE',
			})
			expect(body.error.message).toContain(route.scope)
		}
	})

	it('lets a key with the route’s scope through to the route itself', async () => {
		for (const route of decided(app).filter((r) => r.scope !== 'user')) {
			const key = await keyWith([route.scope])
			const res = await call(route, key.headers)
			expect({ route: `${route.method} ${route.path}`, refused: [401, 403].includes(res.status) }).toEqual({
				route: `${route.method} ${route.path}`,
				refused: false,
			})
		}
	})

	it('refuses even a `*` key on the routes only a signed-in user reaches', async () => {
		const key = await keyWith(['*'])
		const routes = decided(app).filter((r) => r.scope === 'user')
		expect(routes.length).toBeGreaterThanOrEqual(5)
		for (const route of routes) {
			const res = await call(route, key.headers)
			expect({ route: `${route.method} ${route.path}`, status: res.status }).toEqual({ route: `${route.method} ${route.path}`, status: 403 })
		}
	})
})
