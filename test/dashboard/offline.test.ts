import { afterAll, beforeAll, describe, expect, it } from 'bun:test'
import type { Browser, Page, WebSocketRoute } from 'playwright-core'
import type { LoggedInUser } from '../helpers/accounts'
import { inBrowser, signInOnPage } from '../helpers/browser'
import { type ApiSession, clientFor, type SessionsWorld } from '../helpers/sessions'
import { type PairedDashboard, PAIRED_SETUP_TIMEOUT_MS, startPairedDashboard } from '../helpers/dashboard'
import { until } from '../helpers/until'

/** The server goes away and comes back: the pages say what they cannot know meanwhile, and recover on their own. */

const PHONE = '15550340000'
const OLA = '15550340001'
const UNREACHABLE = 'The server cannot be reached. Try again in a moment.'

let world: SessionsWorld
let browser: Browser
let user: LoggedInUser
let session: ApiSession
let dashboard: PairedDashboard | undefined
beforeAll(async () => {
	dashboard = await startPairedDashboard(PHONE)
	;({ world, browser, user, session } = dashboard)
	const hello = await world.standIn.deliverText({ to: PHONE, from: OLA, pushName: 'Ola', text: 'hello' })
	await until(async () => {
		const { body } = await clientFor(world.app, user).get(`/chats/${OLA}@s.whatsapp.net/messages`)
		return (body.items as { id: string }[] | undefined)?.some((m) => m.id === hello.id)
	}, 'the message stored')
}, PAIRED_SETUP_TIMEOUT_MS)
afterAll(() => dashboard?.close())

/**
 * Stands between the page and the server, as a server that stops and starts again would: while
 * away, the WebSocket is cut and refused, and so are the requests `requests` matches, if given.
 */
async function serverBetween(page: Page, requests?: RegExp) {
	let away = false
	let current: { page: WebSocketRoute; server: WebSocketRoute } | null = null
	await page.routeWebSocket(/\/ws\/sessions/, (ws) => {
		if (away) return void ws.close({ code: 1011, reason: 'test: server away' })
		current = { page: ws, server: ws.connectToServer() }
	})
	if (requests) await page.route(requests, (route) => (away ? route.abort('connectionrefused') : route.continue()))
	return {
		async stop() {
			away = true
			await current?.page.close({ code: 1011, reason: 'test: server stopped' })
			await current?.server.close()
			await page.getByText('Offline', { exact: true }).waitFor()
		},
		async start() {
			away = false
			await page.getByText('Live', { exact: true }).waitFor()
		},
	}
}

describe('the dashboard while the server is away', () => {
	it('loads the API keys and the webhooks again once the server is back, offering to try again meanwhile', async () => {
		await inBrowser(browser, 'lists after a stop', async ({ page, problems }) => {
			const server = await serverBetween(page, /\/(api-keys|webhooks)(\?|$)/)
			await signInOnPage(page, world.app.url, user)
			await page.getByText('Live', { exact: true }).waitFor()

			for (const [link, loaded] of [
				['API keys', 'No API key yet.'],
				['Webhooks', 'No webhook yet.'],
			] as const) {
				await server.stop()
				await page.getByRole('link', { name: link }).click()
				const failed = page.getByRole('alert').filter({ hasText: UNREACHABLE })
				await failed.waitFor()
				expect(await page.getByText(/^Loading (keys|webhooks)…$/).count()).toBe(0)
				// Trying again while the server is still away fails again, and says so again.
				const tried = page.waitForEvent('requestfailed', (request) => /\/(api-keys|webhooks)(\?|$)/.test(request.url()))
				await failed.getByRole('button', { name: 'Try again' }).click()
				await tried
				await failed.waitFor()

				await server.start()
				await page.getByText(loaded).waitFor()
				expect(await page.getByRole('alert').count()).toBe(0)
				await page.getByRole('link', { name: 'Sessions' }).click()
			}
			expect(problems).toEqual([])
		})
	}, 60_000)

	it('says the sessions’ statuses are as of the lost connection while the server is away', async () => {
		await inBrowser(browser, 'sessions after a stop', async ({ page, problems }) => {
			const server = await serverBetween(page)
			await signInOnPage(page, world.app.url, user)
			await page.getByText('Live', { exact: true }).waitFor()
			const card = page.locator('li.card', { has: page.getByRole('heading', { name: session.name }) })
			await card.getByTestId('session-status').getByText('Connected').waitFor()
			const notice = page.getByRole('status').filter({ hasText: /^Offline: the statuses below are as of \d\d:\d\d/ })
			expect(await notice.count()).toBe(0)

			await server.stop()
			await notice.waitFor()
			expect(await page.locator('ul.cards.stale').count()).toBe(1)
			await server.start()
			await notice.waitFor({ state: 'detached' })
			expect(await page.locator('ul.cards.stale').count()).toBe(0)
			expect(problems).toEqual([])
		})
	}, 60_000)

	it('stops saying a send found the server away once it is back, and keeps what was written', async () => {
		await inBrowser(browser, 'send after a stop', async ({ page, problems }) => {
			const server = await serverBetween(page, /\/chats\/[^/]+\/messages/)
			await signInOnPage(page, world.app.url, user)
			await page.goto(`${world.app.url}/app/sessions/${session.id}/chats/${OLA}%40s.whatsapp.net`)
			await page.getByRole('log', { name: 'Messages' }).getByText('hello').waitFor()
			await page.getByText('Live', { exact: true }).waitFor()
			await server.stop()
			await page.getByLabel('Message', { exact: true }).fill('are you there?')
			await page.getByRole('button', { name: 'Send' }).click()
			const failed = page.getByRole('alert').filter({ hasText: UNREACHABLE })
			await failed.waitFor()
			await server.start()
			await failed.waitFor({ state: 'detached' })
			expect(await page.getByLabel('Message', { exact: true }).inputValue()).toBe('are you there?')
			expect(problems).toEqual([])
		})
	}, 60_000)
})
