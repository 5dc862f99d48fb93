import { afterAll, beforeAll, describe, expect, it } from 'bun:test'
import type { Browser, Locator, Page } from 'playwright-core'
import type { LoggedInUser } from '../helpers/accounts'
import { inBrowser, signInOnPage } from '../helpers/browser'
import { type ApiSession, clientFor, type SessionsWorld } from '../helpers/sessions'
import { type PairedDashboard, PAIRED_SETUP_TIMEOUT_MS, startPairedDashboard } from '../helpers/dashboard'
import { until } from '../helpers/until'

/** Reading and answering a chat: by keyboard, in right-to-left scripts, with links, with news below the view. */

const PHONE = '15550350000'
const ORA = '15550350001'
const PIA = '15550350002'
const QUINN = '15550350003'
const RAY = '15550350004'
const SAM = '15550350005'
const TESS = '15550350006'
const jid = (phone: string) => `${phone}@s.whatsapp.net`
const HEBREW = 'שלום! ההזמנה שלי לא הגיעה (מספר 4411).'

let world: SessionsWorld
let browser: Browser
let user: LoggedInUser
let session: ApiSession

let dashboard: PairedDashboard | undefined
beforeAll(async () => {
	dashboard = await startPairedDashboard(PHONE)
	;({ world, browser, user, session } = dashboard)
}, PAIRED_SETUP_TIMEOUT_MS)
afterAll(() => dashboard?.close())

/** Resolves once the consumer stored the message: a page opened now loads it. */
const stored = (chat: string, id: string) =>
	until(async () => {
		const { body } = await clientFor(world.app, user).get(`/chats/${encodeURIComponent(chat)}/messages`)
		return (body.items as { id: string }[] | undefined)?.some((m) => m.id === id)
	}, `message ${id} stored`)

const chatUrl = (chat: string) => `${world.app.url}/app/sessions/${session.id}/chats/${encodeURIComponent(chat)}`
/** Signs in and opens the chat with `phone`. */
async function openChat(page: Page, phone: string) {
	await signInOnPage(page, world.app.url, user)
	await page.goto(chatUrl(jid(phone)))
}
const isFocused = (element: Locator) =>
	element.evaluate((el) => el === (el as unknown as { ownerDocument: { activeElement: unknown } }).ownerDocument.activeElement)

/** Where a text's first and last characters are drawn, left to right: right-to-left text ends on the left. */
const edges = (page: Page, selector: string) =>
	// A string: this file is type-checked without the DOM's types.
	page.evaluate(`(() => {
		const walker = document.createTreeWalker(document.querySelector(${JSON.stringify(selector)}), NodeFilter.SHOW_TEXT)
		const nodes = []
		while (walker.nextNode()) if (walker.currentNode.length) nodes.push(walker.currentNode)
		const at = (node, offset) => {
			const range = document.createRange()
			range.setStart(node, offset)
			range.setEnd(node, offset + 1)
			return range.getBoundingClientRect().left
		}
		const last = nodes.at(-1)
		return { first: at(nodes[0], 0), last: at(last, last.length - 1) }
	})()`) as Promise<{ first: number; last: number }>

/** Whether an element of the log is scrolled into its view. */
const inView = (item: Locator) =>
	item.evaluate((el) => {
		const log = el.closest('[role="log"]')!.getBoundingClientRect()
		const box = el.getBoundingClientRect()
		return box.top >= log.top && box.bottom <= log.bottom
	})

describe('reading a chat in the dashboard', () => {
	it('reaches the message box from the heading with one Tab and Enter, the messages’ buttons still after it', async () => {
		for (const text of ['one', 'two', 'three']) await world.standIn.deliverText({ to: PHONE, from: RAY, pushName: 'Ray', text })
		const last = await world.standIn.deliverText({ to: PHONE, from: RAY, text: 'four' })
		await stored(jid(RAY), last.id)
		await inBrowser(browser, 'chat skip link', async ({ page, problems }) => {
			await openChat(page, RAY)
			await page.getByText('four', { exact: true }).waitFor()
			const heading = page.getByRole('heading', { name: 'Ray', level: 1 })
			await heading.focus()
			await page.keyboard.press('Tab')
			const skip = page.getByRole('button', { name: 'Skip to message box' })
			expect(await isFocused(skip)).toBe(true)
			expect((await skip.boundingBox())!.width).toBeGreaterThan(20)
			await page.keyboard.press('Enter')
			expect(await isFocused(page.getByLabel('Message', { exact: true }))).toBe(true)
			// Past the button: the list, then the first message's Reply.
			await heading.focus()
			for (let i = 0; i < 3; i++) await page.keyboard.press('Tab')
			expect(await isFocused(page.getByRole('button', { name: 'Reply to: one' }))).toBe(true)
			expect(problems).toEqual([])
		})
	})

	it('closes the reaction picker with Escape and gives the focus back to its React button', async () => {
		const nice = await world.standIn.deliverText({ to: PHONE, from: RAY, text: 'pick one' })
		await stored(jid(RAY), nice.id)
		await inBrowser(browser, 'chat picker escape', async ({ page, problems }) => {
			await openChat(page, RAY)
			const item = page.locator(`[data-message-id="${nice.id}"]`)
			const react = item.getByRole('button', { name: 'React', exact: true })
			await react.click()
			await page.keyboard.press('Tab')
			expect(await isFocused(item.getByRole('button', { name: 'React with 👍' }))).toBe(true)
			await page.keyboard.press('Escape')
			expect(await item.getByRole('button', { name: 'React with 👍' }).count()).toBe(0)
			expect(await react.getAttribute('aria-expanded')).toBe('false')
			expect(await isFocused(react)).toBe(true)
			expect(problems).toEqual([])
		})
	})

	it('shows Hebrew right to left, its punctuation in place, in the chat and in the list', async () => {
		const hebrew = await world.standIn.deliverText({ to: PHONE, from: ORA, pushName: 'אורה כהן', text: HEBREW })
		const english = await world.standIn.deliverText({ to: PHONE, from: ORA, text: 'Order (4411).' })
		await stored(jid(ORA), hebrew.id)
		await inBrowser(browser, 'chat right to left', async ({ page, problems }) => {
			await openChat(page, ORA)
			const shown = page.locator(`[data-message-id="${hebrew.id}"] .text`)
			await shown.getByText(HEBREW).waitFor()
			const rtl = await edges(page, `[data-message-id="${hebrew.id}"] .text`)
			expect(rtl.last).toBeLessThan(rtl.first)
			await page.locator(`[data-message-id="${english.id}"] .text`).getByText('Order (4411).').waitFor()
			const ltr = await edges(page, `[data-message-id="${english.id}"] .text`)
			expect(ltr.last).toBeGreaterThan(ltr.first)
			// The heading names the chat in its own direction too.
			await page.getByRole('heading', { name: 'אורה כהן', level: 1 }).waitFor()
			expect(await page.evaluate("getComputedStyle(document.querySelector('h1')).direction")).toBe('rtl')

			await world.standIn.deliverText({ to: PHONE, from: ORA, text: HEBREW })
			await page.goto(`${world.app.url}/app/sessions/${session.id}/chats`)
			const row = `.chats a[href$="${encodeURIComponent(jid(ORA))}"]`
			await page.locator(`${row} .chat-last`).getByText(HEBREW).waitFor()
			const preview = await edges(page, `${row} .chat-last`)
			expect(preview.last).toBeLessThan(preview.first)
			expect(await page.evaluate(`getComputedStyle(document.querySelector('${row} .chat-name')).direction`)).toBe('rtl')

			await page.goto(`${world.app.url}/app/sessions/${session.id}/contacts`)
			const contact = `[aria-label="Contacts"] a[href$="${encodeURIComponent(jid(ORA))}"] .chat-name`
			await page.locator(contact).getByText('אורה כהן').waitFor()
			expect(await page.evaluate(`getComputedStyle(document.querySelector('${contact}')).direction`)).toBe('rtl')
			expect(problems).toEqual([])
		})
	})

	it('makes the web addresses in a message links, and nothing else', async () => {
		const text = 'Track it at https://example.com/track?id=4411&lang=he. Not javascript:alert(1), nor <b>bold</b> (see http://example.org/faq)'
		const message = await world.standIn.deliverText({ to: PHONE, from: PIA, pushName: 'Pia', text })
		await stored(jid(PIA), message.id)
		await inBrowser(browser, 'chat links', async ({ page, problems }) => {
			await openChat(page, PIA)
			const shown = page.locator(`[data-message-id="${message.id}"] .text`)
			await shown.waitFor()
			expect(await shown.textContent()).toBe(text)
			const links = shown.getByRole('link')
			expect(await links.allTextContents()).toEqual(['https://example.com/track?id=4411&lang=he', 'http://example.org/faq'])
			expect(await links.first().getAttribute('href')).toBe('https://example.com/track?id=4411&lang=he')
			expect(await links.last().getAttribute('href')).toBe('http://example.org/faq')
			for (const link of await links.all()) {
				expect(await link.getAttribute('target')).toBe('_blank')
				expect(await link.getAttribute('rel')).toBe('noopener noreferrer')
			}
			expect(await shown.locator('b').count()).toBe(0)
			expect(problems).toEqual([])
		})
	})

	it('offers the way down to messages that arrive below a view scrolled up, until the view reaches them', async () => {
		for (let i = 1; i < 30; i++) await world.standIn.deliverText({ to: PHONE, from: QUINN, pushName: 'Quinn', text: `line ${i}` })
		const last = await world.standIn.deliverText({ to: PHONE, from: QUINN, text: 'line 30' })
		await stored(jid(QUINN), last.id)
		await inBrowser(browser, 'chat new messages', async ({ page, problems }) => {
			await openChat(page, QUINN)
			await page.getByText('Live', { exact: true }).waitFor()
			const log = page.getByRole('log', { name: 'Messages' })
			await log.getByText('line 30', { exact: true }).waitFor()
			const scrollTo = (top: 'top' | 'bottom') => log.evaluate((el, top) => el.scrollTo({ top: top === 'top' ? 0 : el.scrollHeight }), top)
			const button = page.getByRole('button', { name: /^New messages/ })

			await scrollTo('top')
			await world.standIn.deliverText({ to: PHONE, from: QUINN, text: 'are you there?' })
			await world.standIn.deliverText({ to: PHONE, from: QUINN, text: 'hello?' })
			await page.getByRole('button', { name: 'New messages (2) ↓' }).waitFor()
			await page.getByRole('status').getByText('2 new messages below').waitFor()
			const newest = log.locator('.message').filter({ hasText: 'hello?' })
			expect(await inView(newest)).toBe(false)
			await button.click()
			expect(await inView(newest)).toBe(true)
			expect(await button.count()).toBe(0)
			expect(await isFocused(log)).toBe(true)

			await scrollTo('top')
			await world.standIn.deliverText({ to: PHONE, from: QUINN, text: 'one more' })
			await page.getByRole('button', { name: 'New messages (1) ↓' }).waitFor()
			await scrollTo('bottom')
			await until(async () => (await button.count()) === 0 || null, 'the button gone at the bottom')
			expect(problems).toEqual([])
		})
	})
})

describe('answering a chat in the dashboard', () => {
	it('keeps a reply and a draft to their own chat: back through the history, the other chat’s box is empty and sends nothing of them', async () => {
		await world.standIn.deliverText({ to: PHONE, from: SAM, pushName: 'Sam', text: 'hi from Sam' })
		const tess = await world.standIn.deliverText({ to: PHONE, from: TESS, pushName: 'Tess', text: 'private note from Tess' })
		await stored(jid(TESS), tess.id)
		await inBrowser(browser, 'chat reply stays', async ({ page, problems }) => {
			await openChat(page, SAM)
			await page.getByText('hi from Sam').waitFor()
			// Within the app (no page load): to the chat list, then Tess's chat.
			await page.getByRole('link', { name: session.name, exact: true }).click()
			await page.getByRole('list', { name: 'Chats' }).getByRole('link').filter({ hasText: 'Tess' }).click()
			await page.getByRole('button', { name: /^Reply to: private note/ }).click()
			const box = page.getByLabel('Message', { exact: true })
			await box.fill('draft meant for Tess')
			// Two steps back in the browser's history: the page is a new one for Sam's chat, not Tess's
			// with another heading.
			await page.evaluate('history.go(-2)')
			await page.getByRole('heading', { name: 'Sam', level: 1 }).waitFor()
			await page.getByText('hi from Sam').waitFor()
			expect(await page.locator('.replying').count()).toBe(0)
			expect(await box.inputValue()).toBe('')
			expect(problems).toEqual([])
		})
	})

	it('sends nothing on the Enter that confirms an input method’s word, and sends on the next one', async () => {
		const hello = await world.standIn.deliverText({ to: PHONE, from: SAM, text: 'konnichiwa' })
		await stored(jid(SAM), hello.id)
		await inBrowser(browser, 'chat ime enter', async ({ page, problems }) => {
			await openChat(page, SAM)
			await page.getByText('Live', { exact: true }).waitFor()
			const box = page.getByLabel('Message', { exact: true })
			await box.fill('日本')
			// What a Japanese input method's Enter sends while it composes: it confirms the word.
			await page.evaluate(
				"document.getElementById('message-text').dispatchEvent(new KeyboardEvent('keydown', { key: 'Enter', keyCode: 229, isComposing: true, bubbles: true, cancelable: true }))",
			)
			await box.fill('日本語')
			await box.press('Enter')
			await world.standIn.waitForSent((m) => m.to === jid(SAM) && m.text === '日本語')
			expect(world.standIn.sent().filter((m) => m.to === jid(SAM) && m.text === '日本')).toEqual([])
			expect(await box.inputValue()).toBe('')
			expect(problems).toEqual([])
		})
	})

	it('says a refused message’s problem as a sentence of its own, without the API’s preamble', async () => {
		await inBrowser(browser, 'chat too long', async ({ page, problems }) => {
			await openChat(page, SAM)
			await page.getByText('Live', { exact: true }).waitFor()
			const box = page.getByLabel('Message', { exact: true })
			await box.fill('x'.repeat(70_000))
			await box.press('Enter')
			const alert = page.getByRole('alert')
			await alert.getByText(/^Text must be at most 65536 characters/).waitFor()
			expect(await alert.textContent()).not.toContain('Request body')
			expect(await box.inputValue()).toHaveLength(70_000)
			// The refusal is the console's "Failed to load resource" line, which is not a problem.
			expect(problems).toEqual([])
		})
	})

	it('shows where the keyboard is on Attach, whose file input takes the focus', async () => {
		await inBrowser(browser, 'chat attach focus', async ({ page, problems }) => {
			await openChat(page, SAM)
			const box = page.getByLabel('Message', { exact: true })
			await box.focus()
			const ring = () => page.evaluate("getComputedStyle(document.querySelector('label.attach')).outlineStyle")
			expect(await ring()).toBe('none')
			await page.keyboard.press('Tab')
			expect(await isFocused(page.getByLabel('Attach a file'))).toBe(true)
			expect(await ring()).toBe('solid')
			expect(problems).toEqual([])
		})
	})
})
