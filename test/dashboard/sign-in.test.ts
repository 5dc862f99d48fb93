import { afterAll, beforeAll, describe, expect, it } from 'bun:test'
import type { Browser, Page, Response } from 'playwright-core'
import { api, createVerifiedUser } from '../helpers/accounts'
import { startTestApp, type TestApp } from '../helpers/app'
import { until } from '../helpers/until'
import { inBrowser, launchChromium, signInOnPage } from '../helpers/browser'
import { createTestClock } from '../helpers/clock'
import { loadConfig } from '../../src/config'
import { createLogger } from '../../src/logger'

/** Signing in, and staying signed in while access tokens expire underneath. */

const clock = createTestClock()
/** What `app` logs: with no SMTP_URL its mails are there. */
const logged: Record<string, unknown>[] = []
const logger = createLogger(loadConfig({ NODE_ENV: 'test', LOG_LEVEL: 'info' }), 'switchboard', {
	write: (line: string) => void logged.push(JSON.parse(line)),
})
let app: TestApp
/** Access tokens live 10 s (the shortest the setting allows): the page must renew them on its own. */
let shortLived: TestApp
let browser: Browser

beforeAll(async () => {
	;[app, shortLived, browser] = await Promise.all([
		startTestApp({ ROLES: 'api' }, { clock }, { logger }),
		startTestApp({ ROLES: 'api', ACCESS_TOKEN_TTL_SECONDS: '10' }),
		launchChromium(),
	])
})
afterAll(async () => {
	await browser?.close()
	await Promise.all([app?.close(), shortLived?.close()])
})

/** Every API answer the page got, as `METHOD path status`. */
function recordAnswers(page: Page) {
	const answers: string[] = []
	page.on('response', (res: Response) => {
		const url = new URL(res.url())
		if (!url.pathname.startsWith('/assets/')) answers.push(`${res.request().method()} ${url.pathname} ${res.status()}`)
	})
	return answers
}

describe('signing in', () => {
	it('shows the API’s message when the password is wrong, and stays on the form', async () => {
		const user = await createVerifiedUser(app)
		const refused = (await (await api(app).post('/auth/login', { email: user.email, password: 'not the password' })).json()) as any
		const expected: string = refused.error.message
		await inBrowser(browser, 'wrong password', async ({ page, problems }) => {
			await page.goto(`${app.url}/sign-in`)
			await page.getByLabel('Email').fill(user.email)
			await page.getByLabel('Password').fill('not the password either')
			await page.getByRole('button', { name: 'Sign in' }).click()
			expect(await page.getByRole('alert').textContent()).toBe(expected)
			expect(new URL(page.url()).pathname).toBe('/sign-in')
			expect(problems).toEqual([])
		})
	})

	it('shows a refused field next to that field', async () => {
		await inBrowser(browser, 'field error', async ({ page }) => {
			await page.goto(`${app.url}/sign-up`)
			await page.getByLabel('Email').fill(`short-${Date.now()}@example.test`)
			await page.getByLabel('Password').fill('short')
			await page.getByRole('button', { name: 'Create account' }).click()
			// Marked once the API has answered: wait for the mark rather than read it at once.
			const password = page.getByLabel('Password')
			await page.locator('input[name="password"][aria-invalid="true"]').waitFor()
			expect(await password.getAttribute('aria-invalid')).toBe('true')
			const described = (await password.getAttribute('aria-describedby'))!.split(' ')
			const message = await page.locator(`[id="${described[0]}"]`).textContent()
			expect(message).toMatch(/password/i)
			expect(await page.getByRole('alert').count()).toBe(0)
		})
	})

	it('words a field the API refuses as a sentence about that field, without the API’s preamble', async () => {
		await inBrowser(browser, 'field sentence', async ({ page }) => {
			await page.goto(`${app.url}/sign-up`)
			await page.getByLabel('Email').fill('not an address')
			await page.getByLabel('Password').fill('correct horse battery staple')
			await page.getByRole('button', { name: 'Create account' }).click()
			await page.locator('input[name="email"][aria-invalid="true"]').waitFor()
			const described = (await page.getByLabel('Email').getAttribute('aria-describedby'))!
			expect(await page.locator(`[id="${described}"]`).textContent()).toBe('Email must be an email address')
			expect(await page.getByRole('alert').count()).toBe(0)
		})
	})

	it('asks the server for no sign-in on a public page of a browser that never signed in, and does once it has', async () => {
		const user = await createVerifiedUser(app)
		await inBrowser(browser, 'no refresh before sign-in', async ({ page, problems }) => {
			// Every console error, a refused request's included: a 401 shows there as "Failed to load resource".
			const errors: string[] = []
			page.on('console', (message) => message.type() === 'error' && errors.push(message.text()))
			const answers = recordAnswers(page)
			for (const path of ['/', '/sign-in', '/sign-up', '/forgot-password']) {
				await page.goto(`${app.url}${path}`)
				await page.getByRole('heading', { level: 1 }).waitFor()
			}
			expect(answers.filter((a) => a.startsWith('POST /auth/refresh'))).toEqual([])
			expect(errors).toEqual([])

			await signInOnPage(page, app.url, user)
			// Signed in, the sign-in page is a way back in: the cookie is presented, and it moves on.
			await page.goto(`${app.url}/sign-in`)
			await page.getByRole('heading', { name: 'Sessions' }).waitFor()
			expect(answers.filter((a) => a.startsWith('POST /auth/refresh'))).toEqual(['POST /auth/refresh 200'])
			await page.getByRole('link', { name: 'Account' }).click()
			await page.getByRole('button', { name: 'Log out', exact: true }).click()
			await page.getByRole('heading', { name: 'Sign in' }).waitFor()
			await page.reload()
			await page.getByRole('heading', { name: 'Sign in' }).waitFor()
			expect(answers.filter((a) => a.startsWith('POST /auth/refresh'))).toEqual(['POST /auth/refresh 200'])
			expect(errors).toEqual([])
			expect(problems).toEqual([])
		})
	})

	it('says where the link went when this server sends no mail, after a sign-up and a reset request', async () => {
		await inBrowser(browser, 'mail in the log', async ({ page, problems }) => {
			await page.goto(`${app.url}/sign-up`)
			const email = `logged-${Bun.randomUUIDv7()}@example.test`
			await page.getByLabel('Email').fill(email)
			await page.getByLabel('Password').fill('correct horse battery staple')
			await page.getByRole('button', { name: 'Create account' }).click()
			await page.getByRole('heading', { name: 'Check your mail' }).waitFor()
			expect(await page.locator('.notice').textContent()).toBe(
				'This server sends no mail (SMTP_URL is not set): the link is in its log, in the line mail (SMTP_URL not set, not sent).',
			)
			// A reload still says where the link went; the page opened anew is the form again.
			await page.reload()
			await page.getByRole('heading', { name: 'Check your mail' }).waitFor()
			expect(await page.locator('main').textContent()).toContain(email)
			// The line the page names is there, with the link.
			const line = await page.locator('.notice code').nth(1).textContent()
			const mail = logged.find((entry) => entry.msg === line && entry.mailTo === email)
			expect(mail?.body).toContain('/verify-email?userId=')
			// The link also stands on a line of its own, to be copied as it is, and it verifies the address.
			expect(mail?.body).toContain(mail?.link)
			// PUBLIC_URL is not this test server's address: its path and query are what matter.
			const link = new URL(String(mail?.link))
			await page.goto(`${app.url}${link.pathname}${link.search}`)
			await page.getByText('Your email address is confirmed.').waitFor()
			await page.goto(`${app.url}/forgot-password`)
			await page.getByLabel('Email').fill(email)
			await page.getByRole('button', { name: 'Send reset link' }).click()
			await page.getByText('If an account has this address').waitFor()
			expect(await page.locator('.notice').textContent()).toStartWith('This server sends no mail')
			await page.reload()
			await page.getByText('If an account has this address').waitFor()
			await page.goto(`${app.url}/sign-up`)
			await page.getByRole('button', { name: 'Create account' }).waitFor()
			expect(problems).toEqual([])
		})
	})

	it('offers a new confirmation link to an address not confirmed yet: at sign-in, and where a broken link lands; a good one confirms, twice over', async () => {
		await inBrowser(browser, 'resend link', async ({ page, problems }) => {
			const email = `unconfirmed-${Bun.randomUUIDv7()}@example.test`
			const password = 'correct horse battery staple'
			await page.goto(`${app.url}/sign-up`)
			await page.getByLabel('Email').fill(email)
			await page.getByLabel('Password').fill(password)
			await page.getByRole('button', { name: 'Create account' }).click()
			await page.getByRole('heading', { name: 'Check your mail' }).waitFor()
			// No mail left this server: the page does not say one was sent.
			expect(await page.locator('main').textContent()).not.toContain('We sent')
			const mails = () => logged.filter((entry) => entry.mailTo === email)
			await until(() => mails().length === 1, 'the first mail')

			await page.goto(`${app.url}/sign-in`)
			await page.getByLabel('Email').fill(email)
			await page.getByLabel('Password').fill(password)
			await page.getByRole('button', { name: 'Sign in' }).click()
			await page.getByRole('button', { name: 'Send the link again' }).click()
			await page.getByText(`If ${email} has an account to confirm, a new link is on its way.`).waitFor()
			await until(() => mails().length === 2, 'the second mail')

			// A link that does not work (cut short when copied, say): where it lands, a new one can be asked for.
			const first = new URL(String(mails()[0]!.link))
			const broken = new URL(first)
			broken.searchParams.set('token', first.searchParams.get('token')!.slice(0, 20))
			await page.goto(`${app.url}${broken.pathname}${broken.search}`)
			await page.getByText('The link is invalid, expired or already used').waitFor()
			// Cut off inside the user's id, the link cannot even be read: it says so, not what the API says of the id.
			const cut = new URL(first)
			cut.searchParams.set('userId', first.searchParams.get('userId')!.slice(0, 8))
			await page.goto(`${app.url}${cut.pathname}${cut.search}`)
			expect(await page.getByRole('alert').textContent()).toBe(
				'This link is not valid (it may be cut off): open the link from the mail again, or ask for a new one below.',
			)
			await page.getByLabel('Email').fill(email)
			await page.getByRole('button', { name: 'Send the link again' }).click()
			await page.getByText(`If ${email} has an account to confirm, a new link is on its way.`).waitFor()
			await until(() => mails().length === 3, 'the third mail')
			// A link that works confirms, and says so again when opened a second time (a mail scanner may open it first).
			const last = new URL(String(mails()[2]!.link))
			for (let i = 0; i < 2; i++) {
				await page.goto(`${app.url}${last.pathname}${last.search}`)
				await page.getByText('Your email address is confirmed.').waitFor()
			}
			expect(problems).toEqual([])
		})
	})

	it('changes the password from the mail while another tab is signed in: both end at sign-in, this one saying so', async () => {
		const user = await createVerifiedUser(app)
		await inBrowser(browser, 'reset with a tab open', async ({ page, context, problems }) => {
			await signInOnPage(page, app.url, user)
			const other = await context.newPage()
			await other.goto(`${app.url}/reset-password`)
			await other.getByText('This link is incomplete').waitFor()
			await other.goto(`${app.url}/forgot-password`)
			await other.getByLabel('Email').fill(user.email)
			await other.getByRole('button', { name: 'Send reset link' }).click()
			await until(() => logged.some((entry) => entry.mailTo === user.email && String(entry.link).includes('/reset-password')), 'the reset mail')
			const link = new URL(String(logged.find((entry) => entry.mailTo === user.email && String(entry.link).includes('/reset-password'))!.link))
			await other.goto(`${app.url}${link.pathname}${link.search}`)
			await other.getByLabel('New password').fill('a brand new passphrase 42')
			await other.getByRole('button', { name: 'Set password' }).click()
			await other.getByText('Your password was changed. Sign in with the new one.').waitFor()
			await page.getByRole('heading', { name: 'Sign in' }).waitFor()
			expect(problems).toEqual([])
		})
	})

	it('signs every tab out when one logs out', async () => {
		const user = await createVerifiedUser(app)
		await inBrowser(browser, 'two tabs', async ({ page, context, problems }) => {
			await signInOnPage(page, app.url, user)
			const other = await context.newPage()
			await other.goto(`${app.url}/app/account`)
			await other.getByRole('button', { name: 'Log out', exact: true }).waitFor()
			await page.getByRole('link', { name: 'Account' }).click()
			await page.getByRole('button', { name: 'Log out', exact: true }).click()
			await page.getByRole('heading', { name: 'Sign in' }).waitFor()
			await other.getByRole('heading', { name: 'Sign in' }).waitFor()
			expect(problems).toEqual([])
		})
	})

	it('answers a dashboard path no page has with a page that says so, after sign-in, and links to every page', async () => {
		const user = await createVerifiedUser(app)
		await inBrowser(browser, 'unknown app page', async ({ page, problems }) => {
			await page.goto(`${app.url}/app/webhooks`)
			await page.waitForURL(`${app.url}/sign-in?next=%2Fapp%2Fwebhooks`)
			await page.getByLabel('Email').fill(user.email)
			await page.getByLabel('Password').fill(user.password)
			await page.getByRole('button', { name: 'Sign in' }).click()
			await page.getByRole('heading', { name: 'Page not found' }).waitFor()
			expect(await page.locator('main code').textContent()).toBe('/app/webhooks')
			expect(await page.title()).toBe('Page not found · Switchboard')
			await page.locator('main').getByRole('link', { name: 'Webhooks' }).click()
			await page.getByRole('heading', { name: 'Webhooks', level: 1 }).waitFor()
			expect(new URL(page.url()).pathname).toBe('/app/integrations/webhooks')
			// A malformed escape in a typed address is a path like any other, not a broken page.
			await page.goto(`${app.url}/app/sessions/%E0/chats`)
			await page.getByRole('heading', { name: 'Page not found' }).waitFor()
			// So is a session id that cannot be one, rather than the API's validation message.
			await page.goto(`${app.url}/app/sessions/nope/chats`)
			await page.getByRole('heading', { name: 'Page not found' }).waitFor()
			// A session that could exist but does not: the API's answer, and nothing that contradicts it.
			for (const list of ['chats', 'contacts']) {
				await page.goto(`${app.url}/app/sessions/${Bun.randomUUIDv7()}/${list}`)
				expect(await page.getByRole('alert').textContent()).toBe('Session not found')
				expect(await page.locator('main').textContent()).not.toMatch(/No (chats|contacts) yet|Loading/)
			}
			// Nor an empty chat with a composer, as if the chat had merely not started yet.
			await page.goto(`${app.url}/app/sessions/${Bun.randomUUIDv7()}/chats/15550001111%40s.whatsapp.net`)
			expect(await page.getByRole('alert').textContent()).toBe('Session not found')
			expect(await page.getByRole('button', { name: 'Send' }).count()).toBe(0)
			await page.goto(`${app.url}/app/`)
			await page.getByRole('heading', { name: 'Sessions' }).waitFor()
			expect(problems).toEqual([])
		})
	})

	it('works by keyboard alone, 360 px wide, in the dark scheme when the system prefers it', async () => {
		const user = await createVerifiedUser(app)
		await inBrowser(
			browser,
			'keyboard narrow dark',
			async ({ page, problems }) => {
				await page.goto(`${app.url}/sign-in`)
				await page.getByRole('heading', { name: 'Sign in' }).waitFor()
				// Focus starts on the heading; the fields and the button follow in order.
				await page.keyboard.press('Tab')
				await page.keyboard.type(user.email)
				await page.keyboard.press('Tab')
				await page.keyboard.type(user.password)
				await page.keyboard.press('Enter')
				await page.getByRole('heading', { name: 'Sessions' }).waitFor()
				await page.getByLabel('Name').fill('A name long enough to wrap on a narrow phone screen')
				await page.getByLabel('Name').press('Enter')
				await page.getByRole('heading', { name: /A name long enough/ }).waitFor()
				// A string: this file is type-checked without the DOM's types.
				const layout = (await page.evaluate(
					'({ width: document.documentElement.scrollWidth, background: getComputedStyle(document.body).backgroundColor })',
				)) as { width: number; background: string }
				expect(layout.width).toBeLessThanOrEqual(360)
				expect(layout.background).toBe('rgb(17, 20, 24)')
				expect(problems).toEqual([])
			},
			{ viewport: { width: 360, height: 740 }, colorScheme: 'dark' },
		)
	})

	it('renews an access token that expired, on the request it failed, without the user noticing', async () => {
		const user = await createVerifiedUser(app)
		await inBrowser(browser, 'expired token', async ({ page, problems }) => {
			// The create must be the first request to meet the expiry. The page's WebSocket would meet it
			// too if it connected after the clock moved (4401, then a renewal before the create), so it is
			// answered here and never reaches the server; the list is loaded before the clock moves.
			await page.routeWebSocket(/\/ws\/sessions/, () => {})
			await signInOnPage(page, app.url, user)
			await page.getByText('No session yet', { exact: false }).waitFor()
			const answers = recordAnswers(page)
			clock.advance((app.config.auth.accessTokenTtlSeconds + 60) * 1000)
			await page.getByLabel('Name').fill('After expiry')
			await page.getByRole('button', { name: 'Create session' }).click()
			await page.getByRole('heading', { name: 'After expiry' }).waitFor()
			// The server refused the expired token once; the page renewed it once and sent the same request
			// again.
			const posts = answers.filter((a) => a.startsWith('POST '))
			expect(posts.filter((a) => a.startsWith('POST /sessions'))).toEqual(['POST /sessions 401', 'POST /sessions 201'])
			expect(posts.filter((a) => a.startsWith('POST /auth/refresh'))).toEqual(['POST /auth/refresh 200'])
			expect(await page.getByRole('alert').count()).toBe(0)
			expect(new URL(page.url()).pathname).toBe('/app/sessions')
			expect(problems).toEqual([])
		})
	})

	it('renews a short-lived access token before it expires, and the WebSocket picks up the new one', async () => {
		const user = await createVerifiedUser(shortLived)
		await inBrowser(browser, 'token renewal', async ({ page, problems }) => {
			const sockets: string[] = []
			page.on('websocket', (ws) => sockets.push(ws.url()))
			await signInOnPage(page, shortLived.url, user)
			const answers = recordAnswers(page)
			await page.getByText('Live', { exact: true }).waitFor()
			// Renewed about 2 s before the 10 s are up; then the socket, opened with the old token, is closed
			// with 4401 when that token expires, and comes back with a new one, resuming where it was.
			await page.waitForResponse((res) => res.url().endsWith('/auth/refresh') && res.status() === 200, { timeout: 15_000 })
			await page.waitForEvent('websocket', { timeout: 15_000 })
			await page.getByText('Live', { exact: true }).waitFor()
			expect(sockets).toHaveLength(2)
			expect(new URL(sockets[1]!).searchParams.get('since')).toMatch(/^\d+-\d+$/)
			// The token rides in the subprotocol, never in the URL a console or a proxy would keep; the
			// second socket is live past the first token's expiry, so it carries the new one.
			for (const url of sockets) expect(new URL(url).searchParams.has('accessToken')).toBe(false)
			await page.getByLabel('Name').fill('Still signed in')
			await page.getByRole('button', { name: 'Create session' }).click()
			await page.getByRole('heading', { name: 'Still signed in' }).waitFor()
			expect(answers.filter((a) => a.endsWith(' 401'))).toEqual([])
			expect(problems).toEqual([])
		})
	}, 40_000)
})
