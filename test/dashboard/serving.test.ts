import { afterAll, beforeAll, describe, expect, it } from 'bun:test'
import { startTestApp, type TestApp } from '../helpers/app'

/**
 * How the api role serves the dashboard: the page at every path the app routes itself, never
 * cached, under a policy that allows its own files and nothing else; its files under hashed names,
 * cached for a year, gzipped on request; and a first load within the budget.
 */

let app: TestApp
beforeAll(async () => {
	app = await startTestApp({ ROLES: 'api' })
})
afterAll(() => app?.close())

const FIRST_LOAD_BUDGET = 150 * 1024

/** The files the page loads, by their URL. */
const loads = (html: string) =>
	[...html.matchAll(/<(?:script|link)\b[^>]*\b(?:src|href)="([^"]+)"/g)].map((m) => m[1]!).filter((url) => !url.startsWith('data:'))

describe('the dashboard page', () => {
	it('answers / with the page: no cache, a policy for its own files and the WebSocket, nothing inline', async () => {
		const res = await fetch(`${app.url}/`)
		expect(res.status).toBe(200)
		expect(res.headers.get('content-type')).toBe('text/html; charset=utf-8')
		expect(res.headers.get('cache-control')).toBe('no-cache')
		expect(res.headers.get('x-frame-options')).toBe('DENY')
		expect(res.headers.get('content-security-policy')).toBe(
			"default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data: blob:; media-src 'self' blob:; connect-src 'self'; manifest-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'",
		)
		const html = await res.text()
		expect(html).toContain('<div id="app"></div>')
		// The test app has no SMTP_URL: mail goes to the log, and the page is told so.
		expect(html).toContain('<meta name="switchboard-mail" content="log">')
		expect(html).not.toMatch(/<script(?![^>]*\bsrc=)[^>]*>/)
		expect(html).not.toMatch(/<style\b|\sstyle="/)
		for (const url of loads(html)) expect(url).toMatch(/^\/assets\/[\w-]+-[a-z0-9]{8}\.(js|css)$/)
	})

	it('answers the same page wherever the app routes itself, the links in mails included, and leaves the API alone', async () => {
		const page = await (await fetch(`${app.url}/`)).text()
		for (const path of [
			'/sign-in',
			'/sign-up',
			'/forgot-password',
			'/verify-email?userId=x&token=y',
			'/reset-password?token=y',
			'/app',
			'/app/sessions/1/chats/2',
		]) {
			const res = await fetch(`${app.url}${path}`)
			expect(res.status, path).toBe(200)
			expect(await res.text(), path).toBe(page)
		}
		const api = await fetch(`${app.url}/sessions`)
		expect(api.status).toBe(401)
		expect(api.headers.get('content-type')).toStartWith('application/json')
		expect((await fetch(`${app.url}/nowhere`)).status).toBe(404)
	})

	it('shows a browser that opens a path nothing answers a page with the way to the dashboard, and keeps JSON for API clients', async () => {
		const navigation = { accept: 'text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8' }
		const res = await fetch(`${app.url}/signup`, { headers: navigation })
		expect(res.status).toBe(404)
		expect(res.headers.get('content-type')).toBe('text/html; charset=utf-8')
		expect(res.headers.get('content-security-policy')).toStartWith("default-src 'none'")
		const html = await res.text()
		expect(html).toContain('<code>/signup</code>')
		for (const link of ['/sign-in', '/sign-up', '/swagger']) expect(html).toContain(`href="${link}"`)
		// Every link it offers leads somewhere.
		for (const [, link] of html.matchAll(/href="([^"]+)"/g))
			expect((await fetch(`${app.url}${link}`, { headers: navigation })).status, link).toBe(200)
		// What the path holds is text, never markup.
		const crafted = await (await fetch(`${app.url}/a'%22%3E%3Cb%3E`, { headers: navigation })).text()
		expect(crafted).not.toContain('<b>')
		expect(crafted).toContain('&#39;')

		for (const accept of ['*/*', 'application/json']) {
			const api = await fetch(`${app.url}/signup`, { headers: { accept } })
			expect(api.status, accept).toBe(404)
			expect(((await api.json()) as { error: { code: string } }).error.code, accept).toBe('ROUTE_NOT_FOUND')
		}
		const post = await fetch(`${app.url}/signup`, { method: 'POST', headers: navigation })
		expect(post.headers.get('content-type')).toStartWith('application/json')
	})

	it('serves the files the page loads under hashed names, cached for good, gzipped when the browser accepts it', async () => {
		const html = await (await fetch(`${app.url}/`)).text()
		const urls = loads(html)
		expect(urls.some((u) => u.endsWith('.js'))).toBe(true)
		expect(urls.some((u) => u.endsWith('.css'))).toBe(true)
		for (const url of urls) {
			const plain = await fetch(`${app.url}${url}`, { headers: { 'accept-encoding': 'identity' }, decompress: false })
			expect(plain.status, url).toBe(200)
			expect(plain.headers.get('cache-control'), url).toBe('public, max-age=31536000, immutable')
			expect(plain.headers.get('content-type'), url).toStartWith(url.endsWith('.js') ? 'text/javascript' : 'text/css')
			expect(plain.headers.get('content-encoding')).toBeNull()
			const body = new Uint8Array(await plain.arrayBuffer())
			const zipped = await fetch(`${app.url}${url}`, { headers: { 'accept-encoding': 'gzip, br' }, decompress: false })
			expect(zipped.headers.get('content-encoding')).toBe('gzip')
			expect(zipped.headers.get('vary')).toBe('Accept-Encoding')
			expect(Bun.gunzipSync(new Uint8Array(await zipped.arrayBuffer()))).toEqual(body)
		}
		const missing = await fetch(`${app.url}/assets/index-00000000.js`)
		expect(missing.status).toBe(404)
		expect(((await missing.json()) as any).error.code).toBe('ROUTE_NOT_FOUND')
	})

	it(`keeps the first load (the page and every file it loads, gzipped) within ${FIRST_LOAD_BUDGET / 1024} KB`, async () => {
		const get = (path: string) => fetch(`${app.url}${path}`, { headers: { 'accept-encoding': 'gzip' }, decompress: false })
		const page = await get('/')
		const html = Bun.gunzipSync(new Uint8Array(await page.clone().arrayBuffer()))
		const sizes: Record<string, number> = { '/': (await page.arrayBuffer()).byteLength }
		for (const url of loads(new TextDecoder().decode(html))) sizes[url] = (await (await get(url)).arrayBuffer()).byteLength
		const total = Object.values(sizes).reduce((a, b) => a + b, 0)
		console.log(`dashboard first load: ${(total / 1024).toFixed(1)} KB gzipped (budget ${FIRST_LOAD_BUDGET / 1024} KB)`, sizes)
		expect(total).toBeLessThanOrEqual(FIRST_LOAD_BUDGET)
		expect(total).toBeGreaterThan(5 * 1024)
	})
})
