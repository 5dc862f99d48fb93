import { afterAll, beforeAll, describe, expect, it } from 'bun:test'
import type { Browser } from 'playwright-core'
import { linkOf, uniqueEmail } from '../helpers/accounts'
import { inBrowser, launchChromium } from '../helpers/browser'
import { startSessionsWorld, type SessionsWorld } from '../helpers/sessions'
import { startSmtpSink, type SmtpSink } from '../helpers/smtp'

/**
 * The dashboard as a person uses it, in headless Chromium, against the real server (api, runner,
 * consumer) and the WhatsApp stand-in playing the phone and its contacts.
 */

const PHONE = '15550300000'
const ADA = '15550300001'
const BOB = '15550300002'
const CLEO = '15550300003'
const DORA = '15550300004'
const EVE = '15550300005'
const jid = (phone: string) => `${phone}@s.whatsapp.net`
const base = Math.floor(Date.now() / 1000) - 3600
/** Where README screenshots go when asked for (`DASHBOARD_SCREENSHOTS=docs/images bun test test/dashboard/flow.test.ts`). */
const SHOTS = process.env.DASHBOARD_SCREENSHOTS

let smtp: SmtpSink
let world: SessionsWorld
let browser: Browser

beforeAll(async () => {
	smtp = await startSmtpSink()
	;[world, browser] = await Promise.all([startSessionsWorld({ SMTP_URL: smtp.url }), launchChromium()])
})
afterAll(async () => {
	await browser?.close()
	await world?.close()
	await smtp?.close()
})

describe('the dashboard', () => {
	it('signs up, verifies from the mail, links a phone by QR, follows chats live, replies, sees it read, sends a photo, shows a new person by name, offers a photo it cannot show as a download, names a contact met in a group, and logs out', async () => {
		await inBrowser(browser, 'full flow', async ({ page, problems }) => {
			const email = uniqueEmail('dash')
			const password = 'correct horse battery staple'

			// Sign up.
			await page.goto(`${world.app.url}/sign-up`)
			await page.getByLabel('Name').fill('Dana Dashboard')
			await page.getByLabel('Email').fill(email)
			await page.getByLabel('Password').fill(password)
			await page.getByRole('button', { name: 'Create account' }).click()
			await page.getByRole('heading', { name: 'Check your mail' }).waitFor()
			// This server sends mail: the page says nothing about logs.
			expect(await page.getByText('SMTP_URL').count()).toBe(0)

			// The mail's link lands on the dashboard and verifies.
			const link = linkOf(await smtp.nextMailTo(email)).url
			expect(link.pathname).toBe('/verify-email')
			await page.goto(new URL(link.pathname + link.search, world.app.url).href)
			await page.getByText('Your email address is confirmed.').waitFor()
			await page.getByRole('link', { name: 'Sign in' }).click()

			// Sign in.
			await page.getByLabel('Email').fill(email)
			await page.getByLabel('Password').fill(password)
			await page.getByRole('button', { name: 'Sign in' }).click()
			await page.getByRole('heading', { name: 'Sessions' }).waitFor()
			expect(new URL(page.url()).pathname).toBe('/app/sessions')

			// Create a session: its QR appears, and the phone scans what the page shows.
			await page.getByLabel('Name').fill('Support line')
			await page.getByRole('button', { name: 'Create session' }).click()
			const card = page.getByRole('listitem').filter({ has: page.getByRole('heading', { name: 'Support line' }) })
			const qr = card.getByRole('img', { name: 'QR code' })
			await qr.waitFor()
			const { data } = await world.events.waitFor('session.qr.updated', (await card.getAttribute('data-session-id'))!)
			expect(await qr.getAttribute('data-payload')).toBe(data.qr)
			if (SHOTS) await page.screenshot({ path: `${SHOTS}/dashboard-sessions.png` })
			await world.standIn.scanQr((await qr.getAttribute('data-payload'))!, PHONE, 'Support phone')

			// Connected, live: no reload.
			await card.getByText('Connected', { exact: true }).waitFor()
			expect(await qr.count()).toBe(0)
			await card.getByRole('link', { name: 'Chats' }).click()
			await page.getByRole('heading', { name: 'Chats' }).waitFor()

			// The phone shares its history: the chats appear in the open list.
			await world.standIn.pushHistory({
				to: PHONE,
				conversations: [
					{
						with: ADA,
						name: 'Ada Lovelace',
						messages: [
							{ id: 'HADA1', text: 'Hello, I ordered a lamp', timestamp: base },
							{ id: 'HADA2', text: 'Thanks, we are on it', fromMe: true, timestamp: base + 60 },
						],
					},
					{ with: BOB, name: 'Bob', messages: [{ id: 'HBOB1', text: 'Are you open on Sunday?', timestamp: base + 120 }] },
					{ with: DORA, name: 'Dora', messages: [{ id: 'HDORA1', text: 'Your order has shipped', fromMe: true, timestamp: base + 30 }] },
				],
			})
			const chats = page.getByRole('list', { name: 'Chats' })
			// A chat opened shows the name the list shows, even where the person never wrote (no push name to go by).
			await chats.getByRole('link', { name: /Dora/ }).click()
			await page.getByText('Your order has shipped').waitFor()
			await page.getByRole('heading', { name: 'Dora', level: 1 }).waitFor()
			await page.locator('.crumbs').getByRole('link').nth(1).click()
			await chats.getByRole('link', { name: /Ada Lovelace/ }).click()
			await page.getByText('Hello, I ordered a lamp').waitFor()

			// A message arrives in the open chat, live.
			const question = await world.standIn.deliverText({ to: PHONE, from: ADA, pushName: 'Ada Lovelace', text: 'Is my lamp on its way?' })
			const incoming = page.getByRole('listitem').filter({ hasText: 'Is my lamp on its way?' })
			await incoming.waitFor()

			// A reply to it, sent from the box, reaches the phone's contact quoting it.
			await incoming.getByRole('button', { name: /^Reply to/ }).click()
			await page.getByLabel('Message', { exact: true }).fill('Yes, it ships today')
			await page.getByRole('button', { name: 'Send' }).click()
			const sent = await world.standIn.waitForSent((m) => m.to === jid(ADA) && m.text === 'Yes, it ships today')
			expect(sent.message?.extendedTextMessage?.contextInfo?.stanzaId).toBe(question.id)
			const outgoing = page.getByRole('listitem').filter({ hasText: 'Yes, it ships today' })
			// The account's phone has it: one tick.
			await outgoing.getByRole('img', { name: 'Sent' }).waitFor()

			// The contact reads it: the ticks turn to read.
			await world.standIn.sendReceipts({ ids: [sent.id], type: 'read' })
			await outgoing.getByRole('img', { name: 'Read' }).waitFor()
			if (SHOTS) await page.screenshot({ path: `${SHOTS}/dashboard-chat.png` })

			// A photo with a caption: uploaded with POST /media, sent by its id, the same bytes at the phone.
			const photo = await Bun.file(new URL('../../docs/images/dashboard-sessions.png', import.meta.url)).bytes()
			await page.getByLabel('Attach a file').setInputFiles({ name: 'lamp.png', mimeType: 'image/png', buffer: Buffer.from(photo) })
			await page.getByLabel('Message', { exact: true }).fill('Your lamp, packed')
			await page.getByRole('button', { name: 'Send' }).click()
			const sentPhoto = await world.standIn.waitForSent((m) => m.to === jid(ADA) && Boolean(m.message?.imageMessage))
			expect(sentPhoto.message?.imageMessage?.caption).toBe('Your lamp, packed')
			expect(Buffer.from(await world.standIn.readSentMedia(sentPhoto.id)).equals(Buffer.from(photo))).toBe(true)
			await page.getByRole('listitem').filter({ hasText: 'Your lamp, packed' }).waitFor()

			// Someone new writes: the chat list shows them by their push name, live and after a reload.
			await page.locator('.crumbs').getByRole('link').nth(1).click()
			await chats.getByRole('link', { name: /Ada Lovelace/ }).waitFor()
			await world.standIn.deliverText({ to: PHONE, from: CLEO, pushName: 'Cleo', text: 'Do you ship abroad?' })
			await chats.getByRole('link', { name: /^Cleo/ }).waitFor()
			await page.reload()
			await chats.getByRole('link', { name: /^Cleo/ }).waitFor()
			// A photo arrives in the open chat: shown once its download is done (live), and, since no
			// browser can show these bytes, offered as a download rather than a broken image.
			await chats.getByRole('link', { name: /^Cleo/ }).click()
			await page.getByText('Do you ship abroad?').waitFor()
			await world.standIn.deliverContent({ to: PHONE, from: CLEO, kind: 'image', file: new Uint8Array(2_000).fill(7), mimetype: 'image/jpeg' })
			await page.getByRole('button', { name: 'Download photo (this browser cannot show it)' }).waitFor()
			expect(await page.getByRole('img', { name: 'Photo' }).count()).toBe(0)

			// Someone the account met only in a group: a contact, and a chat not started yet that
			// already carries their name.
			const group = await world.standIn.createGroup({ owner: EVE, subject: 'Makers', members: [PHONE], notify: false })
			await world.standIn.deliverToGroup({ group: group.jid, from: EVE, pushName: 'Eve', text: 'Hello makers' })
			await page.locator('.crumbs').getByRole('link').nth(1).click()
			await page.locator('main').getByRole('link', { name: 'Contacts', exact: true }).click()
			const contacts = page.getByRole('list', { name: 'Contacts' })
			await contacts.getByRole('link', { name: /^Eve/ }).click()
			await page.getByRole('heading', { name: 'Eve' }).waitFor()
			expect(await page.getByLabel('Message', { exact: true }).isVisible()).toBe(true)

			// Log out: back to sign-in, not asked to return to the account page, and a reload stays signed out.
			await page.getByRole('link', { name: 'Account' }).click()
			await page.getByRole('button', { name: 'Log out', exact: true }).click()
			await page.getByRole('heading', { name: 'Sign in' }).waitFor()
			expect(new URL(page.url()).search).toBe('')
			await page.goto(`${world.app.url}/app/sessions`)
			await page.getByRole('heading', { name: 'Sign in' }).waitFor()
			expect(problems).toEqual([])
		})
	}, 90_000)
})
