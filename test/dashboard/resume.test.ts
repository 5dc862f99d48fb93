import { afterAll, beforeAll, describe, expect, it } from 'bun:test'
import type { Browser, WebSocketRoute } from 'playwright-core'
import { createVerifiedUser } from '../helpers/accounts'
import { inBrowser, launchChromium, signInOnPage } from '../helpers/browser'
import { clientFor, pairedSession, startSessionsWorld, type SessionsWorld } from '../helpers/sessions'
import { until } from '../helpers/until'

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
		const first = await world.standIn.deliverText({ to: PHONE, from: CARA, pushName: 'Cara', text: 'first, before the page opened' })
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
	it('shows what arrived between a page’s first load and its WebSocket going live', async () => {
		const user = await createVerifiedUser(world.app)
		const client = clientFor(world.app, user)
		const session = await pairedSession(world, client, '15550310100')
		const dana = '15550310101'
		const danaJid = `${dana}@s.whatsapp.net`
		const stored = (id: string) =>
			until(async () => {
				const { body } = await client.get(`/chats/${encodeURIComponent(danaJid)}/messages`)
				return (body.items as { id: string }[] | undefined)?.some((m) => m.id === id)
			}, `message ${id} stored`)
		let last = 'before the page'
		await stored((await world.standIn.deliverText({ to: '15550310100', from: dana, pushName: 'Dana', text: last })).id)

		await inBrowser(browser, 'websocket late', async ({ page, problems }) => {
			await signInOnPage(page, world.app.url, user)
			// From here on each connection waits until `release` lets it reach the server: the pages load over REST first.
			const held: WebSocketRoute[] = []
			await page.routeWebSocket(/\/ws\/sessions/, (ws) => void held.push(ws))
			const release = () => {
				for (const ws of held.splice(0)) ws.connectToServer()
			}

			for (const [path, list] of [
				[`/app/sessions/${session.id}/chats/${danaJid}`, page.getByRole('log', { name: 'Messages' })],
				[`/app/sessions/${session.id}/chats`, page.getByRole('list', { name: 'Chats' })],
			] as const) {
				await page.goto(`${world.app.url}${path}`)
				await list.getByText(last).waitFor()
				await until(() => held.length > 0, 'the page’s WebSocket opened')
				await page.getByText('Connecting…', { exact: true }).waitFor()
				// Stored while the page shows what it loaded and its socket is not live yet.
				const text = `while ${path.endsWith('chats') ? 'the list' : 'the chat'} connected`
				await stored((await world.standIn.deliverText({ to: '15550310100', from: dana, text })).id)
				release()
				await page.getByText('Live', { exact: true }).waitFor()
				await list.getByText(text).waitFor()
				last = text
			}
			expect(problems).toEqual([])
		})
	}, 60_000)
	it('keeps what arrived live while a reload of the chat list was on its way with older data', async () => {
		const user = await createVerifiedUser(world.app)
		const client = clientFor(world.app, user)
		const session = await pairedSession(world, client, '15550310200')
		const eli = '15550310201'
		const stored = (id: string) =>
			until(
				async () => (await client.get(`/chats/${eli}@s.whatsapp.net/messages`)).body.items?.some((m: { id: string }) => m.id === id),
				`message ${id} stored`,
			)
		await stored((await world.standIn.deliverText({ to: '15550310200', from: eli, pushName: 'Eli', text: 'first' })).id)

		await inBrowser(browser, 'reload race', async ({ page, problems }) => {
			await signInOnPage(page, world.app.url, user)
			// The socket reaches the server only once the list's first load is shown, so that its
			// snapshot always asks for a reload (a snapshot that came first would need none).
			const sockets: WebSocketRoute[] = []
			await page.routeWebSocket(/\/ws\/sessions/, (ws) => void sockets.push(ws))
			// The list's second load (the reload its snapshot asks for) is answered by the server at
			// once, and handed to the page only after a message arrived live.
			let loads = 0
			const held: (() => Promise<void>)[] = []
			await page.route(/\/chats\?/, async (route) => {
				if (++loads !== 2) return route.continue()
				const response = await route.fetch()
				held.push(() => route.fulfill({ response }))
			})
			await page.goto(`${world.app.url}/app/sessions/${session.id}/chats`)
			const preview = page.getByRole('link').filter({ hasText: 'Eli' }).locator('.chat-last')
			await preview.getByText('first').waitFor()
			await until(() => sockets.length > 0, 'the page’s WebSocket opened')
			for (const ws of sockets.splice(0)) ws.connectToServer()
			await page.getByText('Live', { exact: true }).waitFor()
			await until(() => held.length > 0, 'the reload held')
			await world.standIn.deliverText({ to: '15550310200', from: eli, text: 'arrived live' })
			await preview.getByText('arrived live').waitFor()
			const answered = page.waitForResponse(/\/chats\?/)
			await held[0]!()
			await answered
			// Rendered after the answer is applied: two frames later the list shows what it settled on.
			await page.evaluate('new Promise((resolve) => requestAnimationFrame(() => requestAnimationFrame(resolve)))')
			expect(await preview.textContent()).toBe('arrived live')
			expect(problems).toEqual([])
		})
	}, 60_000)
})
