import { afterAll, beforeAll, describe, expect, it } from 'bun:test'
import type { Browser } from 'playwright-core'
import { createVerifiedUser } from '../helpers/accounts'
import { startTestApp, type TestApp } from '../helpers/app'
import { inBrowser, launchChromium, signInOnPage } from '../helpers/browser'
import { openSocket } from '../helpers/ws'

/** The server refuses the dashboard's live connection (the account holds as many sockets as it may): the page says why, and goes live once it may. */

let app: TestApp
let browser: Browser

beforeAll(async () => {
	;[app, browser] = await Promise.all([startTestApp({ ROLES: 'api', WS_MAX_SOCKETS_PER_TENANT: '1' }), launchChromium()])
})
afterAll(async () => {
	await browser?.close()
	await app?.close()
})

describe('a refused live connection', () => {
	it('is said on the page with the server’s reason, and the page goes live on its own once a socket closes', async () => {
		const user = await createVerifiedUser(app)
		// A server client of the account holds the one socket it may have.
		const held = openSocket(app.url, {}, user.headers)
		await held.next((m) => m.type === 'session.snapshot')
		await inBrowser(browser, 'refused live connection', async ({ page, problems }) => {
			await signInOnPage(page, app.url, user)
			const notice = page.getByText(/^Live updates are off:/)
			await notice.waitFor()
			expect(await notice.textContent()).toBe(
				'Live updates are off: the server refused the connection (this account has a WebSocket open on this server, the most it may; close one, then reconnect). This page tries again on its own.',
			)
			// Offline, or connecting again: never live while refused.
			expect(['Offline', 'Connecting…']).toContain((await page.getByTitle('Live updates').textContent())!)

			held.close()
			await held.closed
			// The page's next try (its back-off is at most 10 s) is let in.
			await page.getByText('Live', { exact: true }).waitFor({ timeout: 20_000 })
			expect(await notice.count()).toBe(0)
			expect(problems).toEqual([])
		})
	}, 60_000)
})
