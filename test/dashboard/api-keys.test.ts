import { afterAll, beforeAll, describe, expect, it } from 'bun:test'
import type { Browser } from 'playwright-core'
import { api, createVerifiedUser } from '../helpers/accounts'
import { startTestApp, type TestApp } from '../helpers/app'
import { inBrowser, launchChromium, signInOnPage } from '../helpers/browser'

/** The API keys page: create a key (shown once, copied), see it listed, revoke it. */

let app: TestApp
let browser: Browser

beforeAll(async () => {
	;[app, browser] = await Promise.all([startTestApp({ ROLES: 'api' }), launchChromium()])
})
afterAll(async () => {
	await browser?.close()
	await app?.close()
})

describe('the API keys page', () => {
	it('creates a key, shows it once with a copy button, lists it, and revokes it', async () => {
		const user = await createVerifiedUser(app)
		await inBrowser(browser, 'api keys', async ({ page, context, problems }) => {
			await context.grantPermissions(['clipboard-read', 'clipboard-write'], { origin: app.url })
			await signInOnPage(page, app.url, user)
			await page.getByRole('link', { name: 'API keys' }).click()
			await page.getByRole('heading', { name: 'API keys', level: 1 }).waitFor()
			await page.getByText('No API key yet.').waitFor()

			await page.getByLabel('Name').fill('CRM sync')
			await page.getByRole('checkbox', { name: /messages:read/ }).check()
			await page.getByRole('checkbox', { name: /messages:send/ }).check()
			await page.getByRole('button', { name: 'Create key' }).click()

			const shown = page.getByLabel('API key', { exact: true })
			const key = await shown.inputValue()
			expect(key).toMatch(/^sbk_[A-Za-z0-9_-]{43}$/)
			await page.getByRole('button', { name: 'Copy key' }).click()
			await page.getByRole('button', { name: 'Copied' }).waitFor()
			expect(await page.evaluate('navigator.clipboard.readText()')).toBe(key)
			// The key works, within its scopes.
			expect((await api(app).get('/chats', { 'x-api-key': key })).status).not.toBe(401)

			await page.getByRole('button', { name: 'Done' }).click()
			expect(await page.getByLabel('API key', { exact: true }).count()).toBe(0)
			const card = page.getByRole('listitem', { name: 'CRM sync' })
			expect(await card.textContent()).toContain('messages:read, messages:send')
			expect(await card.textContent()).toContain(key.slice(0, 12))
			expect(await page.content()).not.toContain(key)

			page.once('dialog', (dialog) => void dialog.accept())
			await page.getByRole('button', { name: 'Revoke CRM sync' }).click()
			await page.getByText('No API key yet.').waitFor()
			expect((await api(app).get('/chats', { 'x-api-key': key })).status).toBe(401)
			expect(problems).toEqual([])
		})
	})

	it('takes a key revoked meanwhile elsewhere off the page when Revoke finds it gone, and keeps the focus on the heading', async () => {
		const user = await createVerifiedUser(app)
		const created = await api(app).post('/api-keys', { name: 'Old sync', scopes: ['messages:read'] }, user.headers)
		const { id } = (await created.json()) as { id: string }
		await inBrowser(browser, 'api keys revoked elsewhere', async ({ page, problems }) => {
			await signInOnPage(page, app.url, user)
			await page.goto(`${app.url}/app/integrations/keys`)
			const revoke = page.getByRole('button', { name: 'Revoke Old sync' })
			await revoke.waitFor()
			// Another tab revokes it first.
			expect((await fetch(`${app.url}/api-keys/${id}`, { method: 'DELETE', headers: user.headers })).status).toBe(204)
			page.once('dialog', (dialog) => void dialog.accept())
			await revoke.focus()
			await page.keyboard.press('Enter')
			await page.getByText('No API key yet.').waitFor()
			expect(await page.getByRole('alert').count()).toBe(0)
			expect(await page.evaluate('document.activeElement.tagName')).toBe('H1')
			expect(problems).toEqual([])
		})
	})

	it('keeps a key with a long name within a 360 px screen, its scope boxes beside their names', async () => {
		const user = await createVerifiedUser(app)
		const name = 'integration-for-the-warehouse-and-shipping-and-returns-system'
		await inBrowser(
			browser,
			'api keys phone',
			async ({ page, problems }) => {
				await signInOnPage(page, app.url, user)
				await page.getByRole('link', { name: 'API keys' }).click()
				await page.getByLabel('Name').fill(name)
				const box = page.getByRole('checkbox', { name: /messages:read/ })
				expect((await box.boundingBox())!.width).toBeLessThan(40)
				await box.check()
				await page.getByRole('button', { name: 'Create key' }).click()
				await page.getByRole('button', { name: 'Done' }).click()
				await page.getByRole('listitem', { name }).waitFor()
				expect(await page.evaluate('document.documentElement.scrollWidth')).toBeLessThanOrEqual(360)
				expect(problems).toEqual([])
			},
			{ viewport: { width: 360, height: 740 } },
		)
	})

	it('says next to the scopes that one must be chosen, when none is', async () => {
		const user = await createVerifiedUser(app)
		await inBrowser(browser, 'api keys no scope', async ({ page }) => {
			await signInOnPage(page, app.url, user)
			await page.goto(`${app.url}/app/integrations/keys`)
			await page.getByLabel('Name').fill('Nothing')
			await page.getByRole('button', { name: 'Create key' }).click()
			// The API's refusal arrives first; then the group points at the message under it.
			await page.locator('#scopes-error').waitFor()
			const scopes = page.getByRole('group', { name: 'Scopes' })
			expect(await scopes.getAttribute('aria-describedby')).toBe('scopes-error')
			expect(await page.locator('#scopes-error').textContent()).toBe('Scopes must list at least one')
			expect(await page.getByLabel('API key', { exact: true }).count()).toBe(0)
		})
	})
})
