import { afterAll, beforeAll, describe, expect, it } from 'bun:test'
import postgres from 'postgres'
import type { Browser } from 'playwright-core'
import { createVerifiedUser } from '../helpers/accounts'
import { inBrowser, launchChromium, signInOnPage } from '../helpers/browser'
import { clientFor, pairedSession, startSessionsWorld, type SessionsWorld } from '../helpers/sessions'
import { until } from '../helpers/until'

/** The sessions page says what a session waits for, and shows an error only for a session that ended. */

let world: SessionsWorld
let browser: Browser
let sql: postgres.Sql

beforeAll(async () => {
	;[world, browser] = await Promise.all([startSessionsWorld(), launchChromium()])
	sql = postgres(world.app.database.url, { max: 1, onnotice: () => {} })
})
afterAll(async () => {
	await sql?.end()
	await browser?.close()
	await world?.close()
})

describe('the sessions page', () => {
	it('shows a session linking by code as waiting for the code, not for a QR scan', async () => {
		const user = await createVerifiedUser(world.app)
		await inBrowser(browser, 'pairing code', async ({ page, problems }) => {
			await signInOnPage(page, world.app.url, user)
			await page.getByLabel('Name').fill('By code')
			await page.getByLabel('Phone number').fill('+1 555 033 0001')
			await page.getByRole('button', { name: 'Create session' }).click()
			const card = page.getByRole('listitem').filter({ has: page.getByRole('heading', { name: 'By code' }) })
			await card.getByText(/Pairing code for \+15550330001/).waitFor()
			expect(await card.getByTestId('session-status').textContent()).toBe('Waiting for the code')
			expect(problems).toEqual([])
		})
	})

	it('shows a refused phone number beside its field, as a sentence', async () => {
		const user = await createVerifiedUser(world.app)
		await inBrowser(browser, 'pairing code refused', async ({ page, problems }) => {
			await signInOnPage(page, world.app.url, user)
			const phone = page.getByLabel('Phone number')
			await phone.fill('call me maybe')
			await page.getByRole('button', { name: 'Create session' }).click()
			await page
				.locator('.field-error')
				.getByText(/^Phone number must be an international number/)
				.waitFor()
			expect(await phone.getAttribute('aria-invalid')).toBe('true')
			expect(problems).toEqual([])
		})
	})

	it('keeps the keyboard on the page’s heading once a session is deleted from its card', async () => {
		const user = await createVerifiedUser(world.app)
		await clientFor(world.app, user).post('/sessions', { name: 'Short-lived' })
		await inBrowser(browser, 'session deleted focus', async ({ page, problems }) => {
			await signInOnPage(page, world.app.url, user)
			const remove = page.getByRole('button', { name: 'Delete Short-lived' })
			page.once('dialog', (dialog) => void dialog.accept())
			await remove.focus()
			await page.keyboard.press('Enter')
			await until(async () => (await remove.count()) === 0, 'the card gone')
			expect(await page.evaluate('document.activeElement.tagName')).toBe('H1')
			expect(problems).toEqual([])
		})
	})

	it('keeps an earlier error to itself while the session starts again, and shows it once the session has ended', async () => {
		const user = await createVerifiedUser(world.app)
		await inBrowser(browser, 'stale error', async ({ page, problems }) => {
			await signInOnPage(page, world.app.url, user)
			await page.getByLabel('Name').fill('Again')
			await page.getByRole('button', { name: 'Create session' }).click()
			const card = page.getByRole('listitem').filter({ has: page.getByRole('heading', { name: 'Again' }) })
			await card.getByRole('img', { name: 'QR code' }).waitFor()
			const id = (await card.getAttribute('data-session-id'))!
			// What a session that timed out before and was started again holds: a new QR, the old reason.
			await sql`update sessions set last_error = 'no QR code was scanned in time' where id = ${id}`
			await page.reload()
			await card.getByRole('img', { name: 'QR code' }).waitFor()
			expect(await card.getByRole('alert').count()).toBe(0)
			await card.getByRole('button', { name: 'Stop Again' }).click()
			await card.getByTestId('session-status').getByText('Stopped').waitFor()
			// The page hears of the stop from the event; the consumer's write of it may still follow, and would clear what is set here.
			await until(async () => (await sql`select status from sessions where id = ${id}`)[0]?.status === 'stopped', 'the stop stored')
			await sql`update sessions set last_error = 'no QR code was scanned in time' where id = ${id}`
			await page.reload()
			await card.getByRole('alert').getByText('no QR code was scanned in time').waitFor()
			expect(problems).toEqual([])
		})
	})

	it('says which command failed and when, until dismissed or the session changes status; a stopped session keeps its chats open', async () => {
		const user = await createVerifiedUser(world.app)
		const api = clientFor(world.app, user)
		const session = await pairedSession(world, api, '15550330100', 'Desk')
		await inBrowser(browser, 'command failure', async ({ page, problems }) => {
			await signInOnPage(page, world.app.url, user)
			const card = page.getByRole('listitem').filter({ has: page.getByRole('heading', { name: 'Desk' }) })
			await card.getByText('Connected', { exact: true }).waitFor()
			// A group the account is not in: accepted, then refused by WhatsApp.
			const fail = async () => {
				expect((await api.post(`/chats/120363000000000001@g.us/messages?sessionId=${session.id}`, { text: 'hello?' })).status).toBe(202)
				await card
					.getByRole('alert')
					.getByText(/^Could not send a message: /)
					.waitFor()
			}
			await fail()
			await card.getByRole('button', { name: 'Dismiss' }).click()
			expect(await card.getByRole('alert').count()).toBe(0)
			await fail()
			await card.getByRole('button', { name: 'Stop Desk' }).click()
			await card.getByTestId('session-status').getByText('Stopped').waitFor()
			expect(await card.getByRole('alert').count()).toBe(0)
			await card.getByRole('link', { name: 'Chats' }).click()
			await page.getByRole('heading', { name: 'Chats', level: 1 }).waitFor()
			// A chat of the stopped session says why nothing can be sent, before anything is written.
			await page.goto(`${world.app.url}/app/sessions/${session.id}/chats/15550330199%40s.whatsapp.net`)
			await page.getByText('This session is not connected (Stopped)').waitFor()
			await page.getByLabel('Message', { exact: true }).fill('anyone?')
			expect(await page.getByRole('button', { name: 'Send' }).isDisabled()).toBe(true)
			expect(problems).toEqual([])
		})
	})
})
