import { afterAll, beforeAll, describe, expect, it } from 'bun:test'
import type { AnyElysia } from 'elysia'
import { SCOPES } from '../../src/core/scopes'
import { startTestApp, type TestApp } from '../helpers/app'

/**
 * Every route that asks for credentials also says which scope an API key needs for it (or that
 * only a signed-in user reaches it): a route added without that decision fails here.
 */

let app: TestApp
beforeAll(async () => {
	app = await startTestApp({ ROLES: 'api' })
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
