import { afterAll, beforeAll, describe, expect, it } from 'bun:test'
import type { Browser } from 'playwright-core'
import { createVerifiedUser } from '../helpers/accounts'
import { startTestApp, type TestApp } from '../helpers/app'
import { inBrowser, launchChromium, signInOnPage } from '../helpers/browser'
import { freePort } from '../helpers/private-redis'

/** A session that cannot reach WhatsApp says why on its card, live and after a reload, without an alert. */

let app: TestApp
let browser: Browser

beforeAll(async () => {
	// Nothing listens on this port: every connection attempt is refused, and the runner keeps retrying.
	const closed = await freePort()
	;[app, browser] = await Promise.all([
		startTestApp({ ROLES: 'api,runner,consumer', WA_WEBSOCKET_URL: `ws://127.0.0.1:${closed}/ws/chat`, OUTBOX_RELAY_INTERVAL_MS: '50' }),
		launchChromium(),
	])
	await app.server.roles.ready
})
afterAll(async () => {
	await browser?.close()
	await app?.close()
})

describe('a session that keeps reconnecting', () => {
	it('shows the reason of its last lost connection under its status, live and after a reload, and no alert', async () => {
		const user = await createVerifiedUser(app)
		await inBrowser(browser, 'reconnecting reason', async ({ page, problems }) => {
			await signInOnPage(page, app.url, user)
			await page.getByLabel('Name').fill('Unreachable')
			await page.getByRole('button', { name: 'Create session' }).click()
			const card = page.locator('li.card', { has: page.getByRole('heading', { name: 'Unreachable' }) })
			await card.getByTestId('session-status').getByText('Reconnecting').waitFor()
			const reason = card.getByTestId('session-reason')
			await reason.waitFor()
			expect(await reason.textContent()).toMatch(/attempt \d+ of \d+/)
			expect(await card.getByRole('alert').count()).toBe(0)

			await page.reload()
			await card.getByTestId('session-status').getByText('Reconnecting').waitFor()
			expect(await card.getByTestId('session-reason').textContent()).toMatch(/attempt \d+ of \d+/)
			expect(await card.getByRole('alert').count()).toBe(0)
			expect(problems).toEqual([])
		})
	})
})
