import { afterAll, beforeAll, describe, expect, it } from 'bun:test'
import type { Browser } from 'playwright-core'
import type { LoggedInUser } from '../helpers/accounts'
import { inBrowser, signInOnPage } from '../helpers/browser'
import { type ApiSession, type Client, pairedSession, type SessionsWorld } from '../helpers/sessions'
import { type PairedDashboard, PAIRED_SETUP_TIMEOUT_MS, startPairedDashboard } from '../helpers/dashboard'
import { until } from '../helpers/until'

/** The chat list as a support lead works down it: long, live, and still there after a look at one chat. */

const PHONE = '15550340000'
const OTHER_PHONE = '15550340001'
/** More chats than the list loads at once (30 a page). */
const CHATS = 150

let world: SessionsWorld
let browser: Browser
let user: LoggedInUser
let api: Client
let session: ApiSession

let dashboard: PairedDashboard | undefined
beforeAll(async () => {
	dashboard = await startPairedDashboard(PHONE)
	;({ world, browser, user, api, session } = dashboard)
	await world.standIn.pushHistory({ to: PHONE, chats: CHATS, messagesPerChat: 1 })
	await until(async () => (await api.get(`/chats?sessionId=${session.id}&limit=200`)).body?.items?.length === CHATS, `${CHATS} chats stored`)
}, PAIRED_SETUP_TIMEOUT_MS)
afterAll(() => dashboard?.close())

const chatsUrl = (sessionId: string) => `${world.app.url}/app/sessions/${sessionId}/chats`

describe('the chat list in the dashboard', () => {
	it('shows the same rows at the same place back from a chat, kept live meanwhile', async () => {
		await inBrowser(browser, 'chat list back', async ({ page, problems }) => {
			await signInOnPage(page, world.app.url, user)
			await page.goto(chatsUrl(session.id))
			await page.getByText('Live', { exact: true }).waitFor()
			const rows = page.getByRole('list', { name: 'Chats' }).getByRole('link')
			// Down the list until three pages are in: each time the last row shows, the next page loads.
			for (const count of [30, 60, 90]) {
				await until(async () => (await rows.count()) === count || null, `${count} rows`)
				if (count < 90) await rows.nth(count - 1).scrollIntoViewIfNeeded()
			}
			// Well above the end, where no further page loads.
			await rows.nth(60).evaluate((row) => row.scrollIntoView({ block: 'start' }))
			const scrolledTo = (await page.evaluate('window.scrollY')) as number
			expect(scrolledTo).toBeGreaterThan(2000)
			const before = await rows.allTextContents()

			const opened = rows.nth(62)
			const chat = decodeURIComponent((await opened.getAttribute('href'))!.split('/').pop()!)
			const name = (await opened.locator('.chat-name').textContent())!
			await opened.click()
			await page.getByRole('heading', { name, level: 1 }).waitFor()
			// A message while the chat is open: the list, out of sight, takes it too.
			await world.standIn.deliverText({ to: PHONE, from: chat.split('@')[0]!, text: 'while you were reading' })
			await page.getByRole('log', { name: 'Messages' }).getByText('while you were reading').waitFor()

			await page.goBack()
			await page.getByRole('heading', { name: 'Chats', level: 1 }).waitFor()
			expect(await rows.count()).toBe(90)
			expect((await page.evaluate('window.scrollY')) as number).toBe(scrolledTo)
			expect(await rows.first().textContent()).toContain('while you were reading')
			// The rest as they were, the chat that moved up aside.
			const after = await rows.allTextContents()
			expect(after.slice(1)).toEqual([...before.slice(0, 62), ...before.slice(63)])
			expect(problems).toEqual([])
		})
	})

	it('says so when the open list’s session is deleted in another tab, instead of "No chats yet"', async () => {
		const doomed = await pairedSession(world, api, OTHER_PHONE, 'Doomed')
		await inBrowser(browser, 'chat list deleted session', async ({ page, context, problems }) => {
			await signInOnPage(page, world.app.url, user)
			const other = await context.newPage()
			await other.goto(chatsUrl(doomed.id))
			await other.getByText('Live', { exact: true }).waitFor()
			await other.getByText('No chats yet', { exact: false }).waitFor()
			await page.getByRole('button', { name: 'Delete Doomed' }).waitFor()
			page.once('dialog', (dialog) => void dialog.accept())
			await page.getByRole('button', { name: 'Delete Doomed' }).click()
			await other.getByRole('alert').getByText('Session not found').waitFor()
			expect(await other.getByText('No chats yet', { exact: false }).count()).toBe(0)
			expect(problems).toEqual([])
		})
	})
})
