import { afterAll, beforeAll, describe, expect, it } from 'bun:test'
import { readFileSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { startTestApp, type TestApp } from '../helpers/app'
import { inBrowser, launchChromium } from '../helpers/browser'

/**
 * The API reference page at /swagger works offline: every file it loads comes from this server,
 * from the installed swagger-ui-dist, and its policy allows exactly that. The page is also checked
 * in Chromium (the system's, or the one `CHROMIUM` names).
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

	it('renders in a browser with no policy violation or script error, and runs a request from the page', async () => {
		const browser = await launchChromium()
		try {
			await inBrowser(browser, 'api reference', async ({ page, problems }) => {
				// CSP violations reach the console as errors, which `problems` collects.
				await page.goto(`${app.url}/swagger`)
				await page.locator('.opblock').first().waitFor()
				expect(await page.locator('.opblock').count()).toBeGreaterThan(20)
				// Opens GET /health and runs it from the page, as a reader would.
				const health = page.locator('#operations-health-getHealth')
				await health.locator('.opblock-summary-control').click()
				await health.locator('.try-out__btn').click()
				await health.locator('.execute').click()
				await health.locator('.live-responses-table .response-col_status', { hasText: '200' }).first().waitFor()
				expect(await page.locator('.errors-wrapper pre, .errors-wrapper .error-wrapper').count()).toBe(0)
				expect(problems).toEqual([])
			})
		} finally {
			await browser.close()
		}
		// Starting Chromium and rendering every operation takes seconds on a quiet host, and several
		// times that beside the other browser tests of a parallel run.
	}, 60_000)
})
