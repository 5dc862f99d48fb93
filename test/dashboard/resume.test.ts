import { afterAll, beforeAll, describe, expect, it } from 'bun:test'
import type { Browser, WebSocketRoute } from 'playwright-core'
import { createVerifiedUser } from '../helpers/accounts'
import { inBrowser, launchChromium } from '../helpers/browser'
import { clientFor, pairedSession, startSessionsWorld, type SessionsWorld } from '../helpers/sessions'

/** The page's one WebSocket, cut while messages keep arriving: they all show, each once. */

const PHONE = '15550310000'
const CARA = '15550310001'
const CARA_JID = `${CARA}@s.whatsapp.net`

let world: SessionsWorld
let browser: Browser
beforeAll(async () => {
	;[world, browser] = await Promise.all([startSessionsWorld(), launchChromium()])
})
afterAll(async () => {
	await browser?.close()
	await world?.close()
})

describe('the dashboard’s WebSocket', () => {
	it('resumes after a drop with since: what arrived meanwhile shows, and nothing shows twice', async () => {
		const user = await createVerifiedUser(world.app)
		const session = await pairedSession(world, clientFor(world.app, user), PHONE)
		const first = await world.standIn.deliverText({ to: PHONE, from: CARA, name: 'Cara', text: 'first, before the page opened' })
		await world.events.waitFor('session.messages.upsert', session.id, { where: (e) => e.data.messages.some((m) => m.key.id === first.id) })

		await inBrowser(browser, 'websocket resume', async ({ page, problems }) => {
			// Every connection passes through here: forwarded to the server, or refused while `away`.
			const urls: URL[] = []
			let away = false
			let current: { page: WebSocketRoute; server: WebSocketRoute } | null = null
			await page.routeWebSocket(/\/ws\/sessions/, (ws) => {
				urls.push(new URL(ws.url()))
				if (away) return void ws.close({ code: 1011, reason: 'test: server away' })
				current = { page: ws, server: ws.connectToServer() }
			})

			await page.goto(`${world.app.url}/sign-in?next=${encodeURIComponent(`/app/sessions/${session.id}/chats/${CARA_JID}`)}`)
			await page.getByLabel('Email').fill(user.email)
			await page.getByLabel('Password').fill(user.password)
			await page.getByRole('button', { name: 'Sign in' }).click()
			const messages = page.getByRole('log', { name: 'Messages' })
			await messages.getByText('first, before the page opened').waitFor()
			await page.getByText('Live', { exact: true }).waitFor()

			const live = await world.standIn.deliverText({ to: PHONE, from: CARA, text: 'second, live' })
			await messages.getByText('second, live').waitFor()

			// The connection drops; attempts to come back fail while a message arrives.
			away = true
			const before = urls.length
			await current!.page.close({ code: 1011, reason: 'test: dropped' })
			await current!.server.close()
			await page.getByText('Offline', { exact: true }).waitFor()
			const missed = await world.standIn.deliverText({ to: PHONE, from: CARA, text: 'third, while the page was away' })
			await world.events.waitFor('session.messages.upsert', session.id, { where: (e) => e.data.messages.some((m) => m.key.id === missed.id) })
			away = false

			// Back: the missed message appears, and none of the three twice.
			await messages.getByText('third, while the page was away').waitFor()
			await page.getByText('Live', { exact: true }).waitFor()
			const resumed = urls.at(-1)!
			expect(urls.length).toBeGreaterThan(before)
			expect(urls[0]!.searchParams.get('since')).toBeNull()
			expect(resumed.searchParams.get('since')).toMatch(/^\d+-\d+$/)
			for (const { id } of [first, live, missed]) expect(await page.locator(`[data-message-id="${id}"]`).count()).toBe(1)
			expect(problems).toEqual([])
		})
	}, 60_000)
})
