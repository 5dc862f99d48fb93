import { afterAll, beforeAll, describe, expect, it } from 'bun:test'
import { existsSync, readFileSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { startTestApp, type TestApp } from '../helpers/app'

/**
 * The API reference page at /swagger works offline: every file it loads comes from this server,
 * from the installed swagger-ui-dist, and its policy allows exactly that. The page is also checked
 * in a real browser when `CHROMIUM` names one (`CHROMIUM=/usr/bin/chromium bun test <this file>`);
 * CI runs without a browser, so that check is opt-in.
 */

let app: TestApp
beforeAll(async () => {
	app = await startTestApp({ ROLES: 'api' })
})
afterAll(() => app?.close())

const SWAGGER_UI = dirname(fileURLToPath(import.meta.resolve('swagger-ui-dist/package.json')))

/** `directive → sources` of a Content-Security-Policy header. */
function policy(header: string | null): Map<string, string[]> {
	return new Map(
		(header ?? '')
			.split(';')
			.map((d) => d.trim().split(/\s+/))
			.filter(([name]) => name)
			.map(([name, ...sources]) => [name!, sources]),
	)
}

/** Every URL the page loads: scripts, stylesheets, icons. */
function loads(html: string) {
	const scripts = [...html.matchAll(/<script\b[^>]*\bsrc="([^"]+)"/g)].map((m) => m[1]!)
	const styles = [...html.matchAll(/<link\b[^>]*\brel="stylesheet"[^>]*\bhref="([^"]+)"/g)].map((m) => m[1]!)
	const icons = [...html.matchAll(/<link\b[^>]*\brel="icon"[^>]*\bhref="([^"]+)"/g)].map((m) => m[1]!)
	return { scripts, styles, icons }
}

describe('the API reference page', () => {
	it('loads every script and stylesheet from this server, long-cached, and its policy allows exactly those', async () => {
		const page = await fetch(`${app.url}/swagger`)
		expect(page.status).toBe(200)
		expect(page.headers.get('content-type')).toBe('text/html; charset=utf-8')
		const html = await page.text()
		const { scripts, styles, icons } = loads(html)
		expect(scripts.length).toBeGreaterThanOrEqual(2)
		expect(styles.length).toBeGreaterThanOrEqual(1)
		// Nothing from another origin, nothing inline that the policy would have to allow.
		expect(html).not.toMatch(/(?:src|href)="(?:https?:)?\/\//)
		expect(html).not.toMatch(/<script(?![^>]*\bsrc=)[^>]*>/)
		expect(html).not.toMatch(/<style\b|\sstyle="/)

		for (const url of [...scripts, ...styles, ...icons]) {
			expect(url.startsWith('/')).toBe(true)
			const res = await fetch(new URL(url, app.url))
			expect(res.status, url).toBe(200)
			expect((await res.arrayBuffer()).byteLength, url).toBeGreaterThan(0)
			expect(res.headers.get('cache-control'), url).toBe('public, max-age=31536000, immutable')
			expect(res.headers.get('x-content-type-options')).toBe('nosniff')
		}
		for (const url of scripts) expect((await fetch(new URL(url, app.url))).headers.get('content-type')).toStartWith('text/javascript')
		for (const url of styles) expect((await fetch(new URL(url, app.url))).headers.get('content-type')).toStartWith('text/css')

		const csp = policy(page.headers.get('content-security-policy'))
		expect(csp.get('default-src')).toEqual(["'none'"])
		expect(csp.get('script-src')).toEqual(["'self'"])
		expect(csp.get('style-src')).toEqual(["'self'"])
		expect(csp.get('connect-src')).toEqual(["'self'"])
		expect(csp.get('frame-ancestors')).toEqual(["'none'"])
		for (const [, sources] of csp) for (const source of sources) expect(source).not.toMatch(/unsafe|\*|https?:/)
	})

	it('serves the Swagger UI files of the installed package, byte for byte, and the document the page asks for', async () => {
		const html = await (await fetch(`${app.url}/swagger`)).text()
		const { scripts, styles } = loads(html)
		for (const name of ['swagger-ui-bundle.js', 'swagger-ui.css']) {
			const url = [...scripts, ...styles].find((u) => u.endsWith(`/${name}`))
			expect(url, name).toBeDefined()
			const served = Buffer.from(await (await fetch(new URL(url!, app.url))).arrayBuffer())
			expect(served.equals(readFileSync(join(SWAGGER_UI, name))), name).toBe(true)
		}
		const start = scripts.find((u) => !u.endsWith('/swagger-ui-bundle.js'))
		const startScript = await (await fetch(new URL(start!, app.url))).text()
		expect(startScript).toContain("url: '/swagger/json'")
		expect((await fetch(`${app.url}/swagger/json`)).status).toBe(200)
	})

	it('serves nothing else under the assets path, and the JSON routes keep the deny-all policy', async () => {
		const { scripts } = loads(await (await fetch(`${app.url}/swagger`)).text())
		const folder = scripts[0]!.slice(0, scripts[0]!.lastIndexOf('/'))
		for (const name of ['package.json', 'index.html', '..%2Fpackage.json', 'constructor'])
			expect((await fetch(`${app.url}${folder}/${name}`)).status, name).toBe(404)
		expect((await fetch(`${app.url}/swagger/assets/0.0.0-000000000000/swagger-ui.css`)).status).toBe(404)
		const json = await fetch(`${app.url}/swagger/json`)
		expect(json.headers.get('content-security-policy')).toBe("default-src 'none'; frame-ancestors 'none'")
		expect(json.headers.get('cache-control')).toBe('no-store')
	})

	const chromium = process.env.CHROMIUM
	it.skipIf(!chromium || !existsSync(chromium))('renders in a browser with no policy violation or script error (opt-in: CHROMIUM)', async () => {
		const { renderInChromium } = await import('../helpers/chromium')
		const result = await renderInChromium(chromium!, `${app.url}/swagger`, {
			// Opens every operation and runs GET /health from the page, as a reader would.
			script: `(async () => {
				const wait = (ms) => new Promise((r) => setTimeout(r, ms))
				for (let i = 0; i < 50 && !document.querySelector('.opblock'); i++) await wait(100)
				for (const button of document.querySelectorAll('.opblock-summary-control')) button.click()
				await wait(1000)
				const health = document.querySelector('#operations-health-getHealth')
				health.querySelector('.try-out__btn').click()
				await wait(300)
				health.querySelector('.execute').click()
				await wait(1000)
				return {
					operations: document.querySelectorAll('.opblock').length,
					errors: document.querySelectorAll('.errors-wrapper pre, .errors-wrapper .error-wrapper').length,
					health: [...health.querySelectorAll('.live-responses-table .response-col_status')].map((e) => e.textContent.trim()),
				}
			})()`,
		})
		expect(result.messages).toEqual([])
		expect(result.value).toMatchObject({ errors: 0, health: expect.arrayContaining(['200']) })
		expect((result.value as { operations: number }).operations).toBeGreaterThan(20)
	})
})
