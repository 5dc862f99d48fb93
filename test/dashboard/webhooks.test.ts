import { afterAll, beforeAll, describe, expect, it } from 'bun:test'
import type { Browser } from 'playwright-core'
import { Webhook } from 'standardwebhooks'
import { createVerifiedUser } from '../helpers/accounts'
import { startTestApp, type TestApp } from '../helpers/app'
import { inBrowser, launchChromium, signInOnPage } from '../helpers/browser'
import { clientFor } from '../helpers/sessions'
import { until } from '../helpers/until'
import { createSession, createWebhook, startReceiver } from '../webhooks/helpers'

/** The webhooks page: add a webhook (its secret shown once), test it, read its deliveries, pause and delete it. */

let app: TestApp
let browser: Browser

beforeAll(async () => {
	;[app, browser] = await Promise.all([startTestApp({ ROLES: 'api,webhooks', WEBHOOK_ALLOW_PRIVATE_TARGETS: 'true' }), launchChromium()])
})
afterAll(async () => {
	await browser?.close()
	await app?.close()
})

describe('the webhooks page', () => {
	it('adds a webhook, shows its secret once, sends a signed test event and lists the delivery, then pauses and deletes it', async () => {
		const user = await createVerifiedUser(app)
		const receiver = await startReceiver()
		try {
			// On a phone's width: the delivery log must scroll within its box, not widen the page.
			await inBrowser(
				browser,
				'webhooks',
				async ({ page }) => {
					await signInOnPage(page, app.url, user)
					await page.getByRole('link', { name: 'Webhooks' }).click()
					await page.getByRole('heading', { name: 'Webhooks', level: 1 }).waitFor()
					await page.getByText('No webhook yet.').waitFor()

					await page.getByLabel('URL').fill(receiver.url)
					await page.getByLabel('Events').fill('session.messages.*, session.status.*')
					await page.getByRole('button', { name: 'Add webhook' }).click()
					const secret = await page.getByLabel('Signing secret', { exact: true }).inputValue()
					expect(secret).toMatch(/^whsec_/)
					await page.getByRole('button', { name: 'Done' }).click()
					expect(await page.content()).not.toContain(secret)

					const card = page.getByRole('listitem', { name: receiver.url })
					expect(await card.textContent()).toContain('session.messages.*, session.status.*')
					await page.getByRole('button', { name: `Send a test event to ${receiver.url}` }).click()
					await until(() => receiver.accepted().length === 1, 'the test event at the receiver')
					const [got] = receiver.accepted()
					// The secret the page showed verifies what the receiver got.
					const verified = new Webhook(secret).verify(got!.body, {
						'webhook-id': got!.webhookId,
						'webhook-timestamp': got!.timestamp,
						'webhook-signature': got!.signature,
					}) as { type: string }
					expect(verified.type).toBe('webhook.test')

					const log = card.getByRole('region', { name: 'Deliveries' })
					// Send test opened the log: it shows what the dispatcher recorded, and follows a pending
					// delivery until it is delivered.
					await log.getByRole('cell', { name: 'delivered' }).waitFor()
					expect(await log.textContent()).toContain('webhook.test')
					expect(await log.textContent()).toContain('204')
					// The log's table scrolls within its box; the page keeps the window's width.
					expect(await page.evaluate('document.documentElement.scrollWidth')).toBeLessThanOrEqual(await page.evaluate('window.innerWidth'))

					await page.getByRole('button', { name: `Pause ${receiver.url}` }).click()
					await card.getByText('Paused').waitFor()
					expect(await page.getByRole('button', { name: `Send a test event to ${receiver.url}` }).isDisabled()).toBe(true)
					page.once('dialog', (dialog) => void dialog.accept())
					await page.getByRole('button', { name: `Delete ${receiver.url}` }).click()
					await page.getByText('No webhook yet.').waitFor()
				},
				{ viewport: { width: 360, height: 740 } },
			)
		} finally {
			await receiver.stop()
		}
	})

	it('takes a webhook deleted meanwhile elsewhere off the page when an action on it finds it gone', async () => {
		const user = await createVerifiedUser(app)
		const url = 'https://example.com/gone-elsewhere'
		const created = await fetch(`${app.url}/webhooks`, {
			method: 'POST',
			headers: { ...user.headers, 'content-type': 'application/json' },
			body: JSON.stringify({ url }),
		})
		const { id } = (await created.json()) as { id: string }
		await inBrowser(browser, 'webhook deleted elsewhere', async ({ page, problems }) => {
			await signInOnPage(page, app.url, user)
			await page.goto(`${app.url}/app/integrations/webhooks`)
			const pause = page.getByRole('button', { name: `Pause ${url}` })
			await pause.waitFor()
			expect((await fetch(`${app.url}/webhooks/${id}`, { method: 'DELETE', headers: user.headers })).status).toBe(204)
			await pause.click()
			await page.getByText('No webhook yet.').waitFor()
			expect(await page.getByRole('alert').count()).toBe(0)
			expect(await page.evaluate('document.activeElement.tagName')).toBe('H1')
			expect(problems).toEqual([])
		})
	})

	it('adds a webhook for the sessions chosen by name, names them on its card, and edits its events and sessions', async () => {
		const user = await createVerifiedUser(app)
		const client = clientFor(app, user)
		const sales = await createSession(client, 'Sales')
		const support = await createSession(client, 'Support')
		const url = 'https://example.com/support-only'
		await inBrowser(browser, 'webhook sessions', async ({ page, problems }) => {
			await signInOnPage(page, app.url, user)
			await page.goto(`${app.url}/app/integrations/webhooks`)
			await page.getByLabel('URL').fill(url)
			const sessions = page.getByRole('group', { name: 'Sessions' })
			await sessions.getByLabel('Support').check()
			expect(await sessions.getByLabel('Sales').isChecked()).toBe(false)
			await page.getByRole('button', { name: 'Add webhook' }).click()
			await page.getByRole('button', { name: 'Done' }).click()
			const card = page.getByRole('listitem', { name: url })
			const fact = (name: string) => card.locator(`dt:has-text("${name}") + dd`).textContent()
			expect(await fact('Sessions')).toBe('Support')
			const saved = async () => (await client.get<{ items: { events: string[]; sessionIds: string[] | null }[] }>('/webhooks')).body.items[0]
			expect(await saved()).toMatchObject({ events: ['*'], sessionIds: [support] })

			// Edited in place: the form starts from what the webhook takes now.
			await page.getByRole('button', { name: `Edit ${url}` }).click()
			const edit = page.getByRole('form', { name: `Edit ${url}` })
			const editSessions = edit.getByRole('group', { name: 'Sessions' })
			expect(await editSessions.getByLabel('Support').isChecked()).toBe(true)
			await editSessions.getByLabel('Sales').check()
			await edit.getByLabel('Events').fill('session.messages.upsert')
			await edit.getByRole('button', { name: 'Save' }).click()
			await edit.waitFor({ state: 'detached' })
			expect(await fact('Sessions')).toBe('Sales, Support')
			expect(await fact('Events')).toBe('session.messages.upsert')
			expect(await saved()).toMatchObject({ events: ['session.messages.upsert'], sessionIds: [sales, support] })

			// Nothing ticked and no events: every session and every event again.
			await page.getByRole('button', { name: `Edit ${url}` }).click()
			await editSessions.getByLabel('Sales').uncheck()
			await editSessions.getByLabel('Support').uncheck()
			await edit.getByLabel('Events').fill('')
			await edit.getByRole('button', { name: 'Save' }).click()
			await edit.waitFor({ state: 'detached' })
			expect(await fact('Sessions')).toBe('All')
			expect(await saved()).toMatchObject({ events: ['*'], sessionIds: null })

			// A refusal stays in the form, beside its field; Cancel leaves the webhook as it was.
			await page.getByRole('button', { name: `Edit ${url}` }).click()
			await edit.getByLabel('Events').fill('no.such.event')
			await edit.getByRole('button', { name: 'Save' }).click()
			await edit.locator('.field-error').waitFor()
			await edit.getByRole('button', { name: 'Cancel' }).click()
			await edit.waitFor({ state: 'detached' })
			expect(await fact('Events')).toBe('*')
			expect(problems).toEqual([])
		})
	})

	it("leaves a webhook's sessions as they are when an edit has no sessions to offer", async () => {
		const user = await createVerifiedUser(app)
		const client = clientFor(app, user)
		const session = await createSession(client, 'Only')
		const { url } = await createWebhook(client, { url: 'https://example.com/one-session', sessionIds: [session] })
		await inBrowser(browser, 'webhook edit without sessions', async ({ page }) => {
			await signInOnPage(page, app.url, user)
			// The account's sessions cannot be had: neither their list nor the live snapshot.
			await page.route(/\/sessions\?/, (route) => route.fulfill({ status: 503, body: '' }))
			await page.routeWebSocket(/\/ws\//, (ws) => ws.close())
			await page.goto(`${app.url}/app/integrations/webhooks`)
			await page.getByRole('button', { name: `Edit ${url}` }).click()
			const edit = page.getByRole('form', { name: `Edit ${url}` })
			expect(await edit.getByRole('group', { name: 'Sessions' }).count()).toBe(0)
			await edit.getByLabel('Events').fill('session.messages.upsert')
			await edit.getByRole('button', { name: 'Save' }).click()
			await edit.waitFor({ state: 'detached' })
		})
		const { items } = (await client.get<{ items: unknown[] }>('/webhooks')).body
		expect(items).toMatchObject([{ events: ['session.messages.upsert'], sessionIds: [session] }])
	})

	it('replays the events the server still holds from a chosen time, with their original webhook-ids', async () => {
		const user = await createVerifiedUser(app)
		const receiver = await startReceiver()
		const client = clientFor(app, user)
		try {
			await createWebhook(client, { url: receiver.url, events: ['session.created'] })
			await createSession(client, 'Replayed')
			await until(() => receiver.accepted().length === 1, 'session.created at the receiver')
			const [first] = receiver.accepted()
			await inBrowser(browser, 'webhook replay', async ({ page, problems }) => {
				await signInOnPage(page, app.url, user)
				await page.goto(`${app.url}/app/integrations/webhooks`)
				await page.getByRole('button', { name: `Replay events to ${receiver.url}` }).click()
				const replay = page.getByRole('form', { name: `Replay ${receiver.url}` })
				// An emptied time is refused beside the field, before anything is asked of the server.
				await replay.getByLabel('Send again every event since').fill('')
				await replay.getByRole('button', { name: 'Replay' }).click()
				await replay.locator('.field-error').waitFor()
				// From an hour ago (the form's own start): the session's event is sent again.
				const hourAgo = new Date(Date.now() - 3_600_000)
				const local = new Date(hourAgo.getTime() - hourAgo.getTimezoneOffset() * 60_000).toISOString().slice(0, 16)
				await replay.getByLabel('Send again every event since').fill(local)
				await replay.getByRole('button', { name: 'Replay' }).click()
				await replay.getByRole('status').getByText('1 event queued again').waitFor()
				await until(() => receiver.accepted().length === 2, 'the replayed event at the receiver')
				const [, again] = receiver.accepted()
				expect(again!.json.type).toBe('session.created')
				// The same webhook-id: the receiver's de-duplication sees it as the event it already has.
				expect(again!.webhookId).toBe(first!.webhookId)
				await page.getByRole('button', { name: 'Close' }).click()
				await page.getByRole('button', { name: `Edit ${receiver.url}` }).waitFor()
				expect(problems).toEqual([])
			})
		} finally {
			await receiver.stop()
		}
	})

	it("shows the API's message next to the URL when it is refused", async () => {
		const user = await createVerifiedUser(app)
		await inBrowser(browser, 'webhook refused', async ({ page }) => {
			await signInOnPage(page, app.url, user)
			await page.goto(`${app.url}/app/integrations/webhooks`)
			await page.getByLabel('URL').fill('ftp://example.com/hook')
			await page.getByRole('button', { name: 'Add webhook' }).click()
			const error = page.locator('.field-error')
			await error.waitFor()
			expect(await error.textContent()).toMatch(/http/i)
			await page.getByText('No webhook yet.').waitFor()
			// Names the API writes between backticks read as code, the backticks gone.
			await page.getByLabel('URL').fill('not a url at all')
			await page.getByRole('button', { name: 'Add webhook' }).click()
			await error.getByText('url', { exact: true }).waitFor()
			expect(await error.locator('code').allTextContents()).toContain('url')
			expect(await error.textContent()).not.toContain('`')
		})
	})
})
