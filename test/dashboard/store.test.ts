import { afterAll, beforeAll, describe, expect, it } from 'bun:test'
import type { Browser } from 'playwright-core'
import { inBrowser, launchChromium } from '../helpers/browser'

/**
 * The dashboard's shared state (`web/lib/store.ts`) as a component sees it, in Chromium: a change
 * must show even when it comes between the component's render and its subscription.
 */

let browser: Browser
let server: ReturnType<typeof Bun.serve>

beforeAll(async () => {
	const built = await Bun.build({ entrypoints: [new URL('../fixtures/store-race/page.ts', import.meta.url).pathname], target: 'browser' })
	if (!built.success) throw new AggregateError(built.logs, 'the store page did not build')
	const script = await built.outputs[0]!.text()
	server = Bun.serve({
		port: 0,
		hostname: '127.0.0.1',
		fetch: (req) =>
			new URL(req.url).pathname === '/page.js'
				? new Response(script, { headers: { 'content-type': 'text/javascript' } })
				: new Response('<!doctype html><div id="app"></div><script type="module" src="/page.js"></script>', {
						headers: { 'content-type': 'text/html' },
					}),
	})
	browser = await launchChromium()
})
afterAll(async () => {
	await browser?.close()
	await server?.stop(true)
})

describe('useStore', () => {
	it('shows a change made after the render and before the effects ran', async () => {
		await inBrowser(browser, 'store race', async ({ page, problems }) => {
			await page.goto(`http://127.0.0.1:${server.port}/`)
			await page.locator('body[data-settled]').waitFor({ state: 'attached' })
			expect(await page.locator('#shown').textContent()).toBe('changed before the effects ran')
			expect(problems).toEqual([])
		})
	})
})
