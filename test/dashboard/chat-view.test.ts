import { afterAll, beforeAll, describe, expect, it } from 'bun:test'
import { deflateSync } from 'node:zlib'
import type { Browser, Page } from 'playwright-core'
import type { LoggedInUser } from '../helpers/accounts'
import { inBrowser, signInOnPage } from '../helpers/browser'
import { clientFor, type ApiSession, type SessionsWorld } from '../helpers/sessions'
import { type PairedDashboard, PAIRED_SETUP_TIMEOUT_MS, startPairedDashboard } from '../helpers/dashboard'
import { until } from '../helpers/until'

/** How a chat reads in the dashboard: in the order things arrived, who said what, photos in proportion, read when seen. */

const PHONE = '15550320000'
const EVA = '15550320001'
const FINN = '15550320002'
const GUS = '15550320003'
const HAL = '15550320004'
const IDA = '15550320005'
const JO = '15550320006'
const KIM = '15550320007'
const LEO = '15550320008'
const MIA = '15550320009'
const NED = '15550320010'
/** A number no one in these tests writes from: its chat does not exist. */
const NOBODY = '15550320099'
const jid = (phone: string) => `${phone}@s.whatsapp.net`

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

/** A PNG of one colour, `width` × `height` pixels. */
function png(width: number, height: number): Uint8Array {
	const chunk = (type: string, data: Uint8Array) => {
		const body = Buffer.concat([Buffer.from(type, 'ascii'), data])
		const out = Buffer.alloc(body.length + 8)
		out.writeUInt32BE(data.length, 0)
		body.copy(out, 4)
		out.writeUInt32BE(Bun.hash.crc32(body) >>> 0, body.length + 4)
		return out
	}
	const header = Buffer.alloc(13)
	header.writeUInt32BE(width, 0)
	header.writeUInt32BE(height, 4)
	header.set([8, 2, 0, 0, 0], 8)
	const row = Buffer.concat([Buffer.from([0]), Buffer.alloc(width * 3, 0x80)])
	const pixels = deflateSync(Buffer.concat(Array.from({ length: height }, () => row)))
	return Buffer.concat([
		Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
		chunk('IHDR', header),
		chunk('IDAT', pixels),
		chunk('IEND', new Uint8Array()),
	])
}

/** Half a second of silence as a WAV file, which any browser plays. */
function wav(): Uint8Array {
	const samples = 4000
	const out = Buffer.alloc(44 + samples * 2)
	out.write('RIFF', 0)
	out.writeUInt32LE(36 + samples * 2, 4)
	out.write('WAVEfmt ', 8)
	out.writeUInt32LE(16, 16)
	out.writeUInt16LE(1, 20) // PCM
	out.writeUInt16LE(1, 22) // mono
	out.writeUInt32LE(8000, 24)
	out.writeUInt32LE(16000, 28)
	out.writeUInt16LE(2, 32)
	out.writeUInt16LE(16, 34)
	out.write('data', 36)
	out.writeUInt32LE(samples * 2, 40)
	return out
}

/** Resolves once the consumer stored the message: a page opened now loads it. */
const stored = (chat: string, id: string) =>
	until(async () => {
		const { body } = await clientFor(world.app, user).get(`/chats/${encodeURIComponent(chat)}/messages`)
		return (body.items as { id: string }[] | undefined)?.some((m) => m.id === id)
	}, `message ${id} stored`)

const chatUrl = (chat: string) => `${world.app.url}/app/sessions/${session.id}/chats/${encodeURIComponent(chat)}`
const texts = (page: Page) => page.getByRole('log', { name: 'Messages' }).locator('.message .text').allTextContents()

describe('a chat in the dashboard', () => {
	it('lists messages of one second in the order they arrived, live and after a reload', async () => {
		const second = Math.floor(Date.now() / 1000)
		await inBrowser(browser, 'chat order', async ({ page, problems }) => {
			await signInOnPage(page, world.app.url, user)
			const first = await world.standIn.deliverText({ to: PHONE, from: EVA, pushName: 'Eva', text: 'one', timestamp: second })
			await stored(jid(EVA), first.id)
			await page.goto(chatUrl(jid(EVA)))
			await page.getByText('one', { exact: true }).waitFor()
			await page.getByText('Live', { exact: true }).waitFor()
			for (const text of ['two', 'three', 'four']) await world.standIn.deliverText({ to: PHONE, from: EVA, text, timestamp: second })
			await page.getByText('four', { exact: true }).waitFor()
			expect(await texts(page)).toEqual(['one', 'two', 'three', 'four'])
			await page.reload()
			await page.getByText('four', { exact: true }).waitFor()
			expect(await texts(page)).toEqual(['one', 'two', 'three', 'four'])
			expect(problems).toEqual([])
		})
	})

	it('says who wrote each message of a group, and shows a poll and a location with what they hold', async () => {
		const group = await world.standIn.createGroup({ owner: FINN, subject: 'Crew', members: [PHONE, GUS] })
		await inBrowser(browser, 'group chat', async ({ page, problems }) => {
			await signInOnPage(page, world.app.url, user)
			await page.goto(chatUrl(group.jid))
			// Live before anything arrives: what arrives now reaches the open page over the WebSocket.
			await page.getByText('Live', { exact: true }).waitFor()
			// Named once its subject has loaded, and so is the tab, which was titled before the name was known.
			await page.getByRole('heading', { name: 'Crew', level: 1 }).waitFor()
			expect(await page.title()).toBe('Crew · Switchboard')
			await world.standIn.deliverToGroup({ group: group.jid, from: FINN, pushName: 'Finn', text: 'Who is in for Saturday?' })
			await world.standIn.deliverToGroup({ group: group.jid, from: GUS, pushName: 'Gus', text: 'Me!' })
			const gus = page.getByRole('listitem').filter({ hasText: 'Me!' })
			await gus.waitFor()
			expect(await gus.locator('.sender').textContent()).toBe('Gus')
			expect(await page.getByRole('listitem').filter({ hasText: 'Who is in for Saturday?' }).locator('.sender').textContent()).toBe('Finn')
			// The chat list's preview says who wrote the newest message: loaded, then live.
			await page.goto(`${world.app.url}/app/sessions/${session.id}/chats`)
			const preview = page.getByRole('link').filter({ hasText: 'Crew' }).locator('.chat-last')
			await page.getByText('Live', { exact: true }).waitFor()
			expect(await preview.textContent()).toBe('Gus: Me!')
			await world.standIn.deliverToGroup({ group: group.jid, from: FINN, pushName: 'Finn', text: 'Great' })
			await preview.getByText('Finn: Great').waitFor()

			const poll = await world.standIn.deliverContent({ to: PHONE, from: EVA, kind: 'poll', name: 'Which day?', options: ['Mon', 'Tue'] })
			const place = await world.standIn.deliverContent({
				to: PHONE,
				from: EVA,
				kind: 'location',
				latitude: 48.8584,
				longitude: 2.2945,
				name: 'Tour Eiffel',
			})
			// Stored before the page loads the chat.
			await stored(jid(EVA), poll.id)
			await stored(jid(EVA), place.id)
			await page.goto(chatUrl(jid(EVA)))
			const shownPoll = page.getByRole('listitem').filter({ hasText: 'Poll: Which day?' })
			await shownPoll.waitFor()
			expect(await shownPoll.locator('.poll li').allTextContents()).toEqual(['Mon (0 votes)', 'Tue (0 votes)'])
			const shownPlace = page.getByRole('listitem').filter({ hasText: 'Location: Tour Eiffel' })
			expect(await shownPlace.getByRole('link', { name: 'Show on a map' }).getAttribute('href')).toContain('mlat=48.8584&mlon=2.2945')
			expect(problems).toEqual([])
		})
	})

	it('shows a tall photo in its proportions, and the newest message in view once photos have loaded', async () => {
		// Taller than half the screen: scaled down as a whole.
		const tall = png(200, 1200)
		const photo = await world.standIn.deliverContent({
			to: PHONE,
			from: FINN,
			kind: 'image',
			file: tall,
			mimetype: 'image/png',
			width: 200,
			height: 1200,
		})
		const after = await world.standIn.deliverText({ to: PHONE, from: FINN, text: 'the last word' })
		await stored(jid(FINN), after.id)
		await inBrowser(browser, 'chat photo', async ({ page, problems }) => {
			await signInOnPage(page, world.app.url, user)
			await page.goto(chatUrl(jid(FINN)))
			const image = page.locator(`[data-message-id="${photo.id}"] img.media`)
			await image.waitFor()
			await until(
				async () =>
					(await image.evaluate((img) => {
						const loaded = img as unknown as { complete: boolean; naturalWidth: number }
						return loaded.complete && loaded.naturalWidth > 0
					})) || null,
				'the photo loaded',
			)
			const box = (await image.boundingBox())!
			expect(box.height / box.width).toBeCloseTo(6, 1)
			expect(await page.getByText('the last word').isVisible()).toBe(true)
			const log = page.getByRole('log', { name: 'Messages' })
			const atBottom = await log.evaluate((el) => el.scrollHeight - el.scrollTop - el.clientHeight < 80)
			expect(atBottom).toBe(true)
			expect(problems).toEqual([])
		})
	})

	it('marks a chat read when it is opened: WhatsApp gets read receipts and the list’s unread count goes', async () => {
		const waiting = await world.standIn.deliverText({ to: PHONE, from: GUS, pushName: 'Gus', text: 'are you there?' })
		const api = clientFor(world.app, user)
		await until(async () => (await api.get(`/chats/${GUS}`)).body?.unreadCount === 1, 'the unread message counted')
		await inBrowser(browser, 'chat read', async ({ page, problems }) => {
			await signInOnPage(page, world.app.url, user)
			await page.goto(chatUrl(jid(GUS)))
			await world.standIn.waitForReceipt((r) => r.type === 'read' && r.ids.includes(waiting.id))
			await until(async () => (await api.get(`/chats/${GUS}`)).body?.unreadCount === 0, 'the count back to 0')
			expect(problems).toEqual([])
		})
	})

	it('sends the text written beside an audio file after it, lets an attachment be removed, and puts the cursor in the box to reply', async () => {
		await inBrowser(browser, 'composer', async ({ page, problems }) => {
			await signInOnPage(page, world.app.url, user)
			await page.goto(chatUrl(jid(EVA)))
			const box = page.getByLabel('Message', { exact: true })
			await box.waitFor()

			await page.getByLabel('Attach a file').setInputFiles({ name: 'song.mp3', mimeType: 'audio/mpeg', buffer: Buffer.alloc(2_000, 7) })
			await box.fill('listen to this')
			await page.getByRole('button', { name: 'Send' }).click()
			const audio = await world.standIn.waitForSent((m) => m.to === jid(EVA) && Boolean(m.message?.audioMessage))
			const text = await world.standIn.waitForSent((m) => m.to === jid(EVA) && m.text === 'listen to this')
			expect(world.standIn.sent().indexOf(text)).toBeGreaterThan(world.standIn.sent().indexOf(audio))

			await page.getByLabel('Attach a file').setInputFiles({ name: 'notes.pdf', mimeType: 'application/pdf', buffer: Buffer.alloc(100, 1) })
			await page.getByRole('button', { name: 'Remove notes.pdf' }).click()
			expect(await page.getByText('Attached: notes.pdf').count()).toBe(0)
			await box.fill('just text')
			await page.getByRole('button', { name: 'Send' }).click()
			const plain = await world.standIn.waitForSent((m) => m.to === jid(EVA) && m.text === 'just text')
			expect(plain.message?.documentMessage).toBeFalsy()

			await page
				.getByRole('listitem')
				.filter({ hasText: 'just text' })
				.getByRole('button', { name: /^Reply to/ })
				.click()
			expect(await box.evaluate((el) => el === (el as unknown as { ownerDocument: { activeElement: unknown } }).ownerDocument.activeElement)).toBe(
				true,
			)
			await page.keyboard.press('Escape')
			expect(await page.getByText('Replying to:').count()).toBe(0)
			expect(problems).toEqual([])
		})
	})

	it('shows a chat opened from the list before the database has its messages, and what it says from then on', async () => {
		await inBrowser(browser, 'chat not stored yet', async ({ page, problems }) => {
			await signInOnPage(page, world.app.url, user)
			await page.goto(`${world.app.url}/app/sessions/${session.id}/chats`)
			await page.getByText('Live', { exact: true }).waitFor()
			// The database lags the events: the page reads Hal's chat as one not stored yet (the API's own 404).
			await page.route(
				(url) => decodeURIComponent(url.pathname).startsWith(`/chats/${jid(HAL)}`),
				(route) => {
					const url = new URL(route.request().url())
					url.pathname = decodeURIComponent(url.pathname).replace(jid(HAL), jid(NOBODY))
					return route.continue({ url: url.href })
				},
			)
			await world.standIn.deliverText({ to: PHONE, from: HAL, pushName: 'Hal', text: 'first words' })
			await page.getByRole('list', { name: 'Chats' }).getByRole('link', { name: /Hal/ }).click()
			const log = page.getByRole('log', { name: 'Messages' })
			await log.getByText('first words').waitFor()
			await world.standIn.deliverText({ to: PHONE, from: HAL, text: 'and more' })
			await log.getByText('and more').waitFor()
			expect(await texts(page)).toEqual(['first words', 'and more'])
			expect(problems).toEqual([])
		})
	})

	it('lists a new person who writes by LID once, under the name they gave', async () => {
		await inBrowser(browser, 'chat list lid', async ({ page, problems }) => {
			await signInOnPage(page, world.app.url, user)
			await page.goto(`${world.app.url}/app/sessions/${session.id}/chats`)
			await page.getByText('Live', { exact: true }).waitFor()
			await world.standIn.deliverText({ to: PHONE, from: JO, pushName: 'Jo Lid', text: 'hi from my lid', addressing: 'lid' })
			await world.events.waitFor('session.chats.upsert', session.id, { where: (e) => e.data.chats.some((c) => c.jid.endsWith('@lid')) })
			// Events reach the page in stream order: once a later one shows, Jo's chat event has been applied.
			await world.standIn.deliverText({ to: PHONE, from: KIM, pushName: 'Kim', text: 'after Jo' })
			const rows = page.getByRole('list', { name: 'Chats' }).getByRole('link')
			await rows.filter({ hasText: 'after Jo' }).waitFor()
			expect(await rows.filter({ hasText: 'Jo Lid' }).count()).toBe(1)
			expect(await rows.filter({ hasText: '@lid' }).count()).toBe(0)
			expect(problems).toEqual([])
		})
	})

	it('plays an audio message in the page, and marks a message edited as the edit arrives', async () => {
		const draft = await world.standIn.deliverText({ to: PHONE, from: MIA, pushName: 'Mia', text: 'first draft' })
		const song = await world.standIn.deliverContent({ to: PHONE, from: MIA, kind: 'audio', file: wav(), mimetype: 'audio/wav', seconds: 1 })
		await stored(jid(MIA), song.id)
		await inBrowser(browser, 'chat audio and edit', async ({ page, problems }) => {
			await signInOnPage(page, world.app.url, user)
			await page.goto(chatUrl(jid(MIA)))
			const player = page.locator(`[data-message-id="${song.id}"] audio`)
			await player.waitFor()
			await until(async () => (await player.evaluate((el) => (el as unknown as { duration: number }).duration)) > 0 || null, 'the audio loaded')
			const first = page.locator(`[data-message-id="${draft.id}"]`)
			expect(await first.textContent()).not.toContain('edited')
			await world.standIn.deliverContent({ to: PHONE, from: MIA, kind: 'edit', target: { id: draft.id }, text: 'final words' })
			await first.getByText('final words').waitFor()
			expect(await first.locator('.meta').textContent()).toContain('· edited')
			await until(async () => {
				const { body } = await clientFor(world.app, user).get(`/chats/${encodeURIComponent(jid(MIA))}/messages`)
				return (body.items as { id: string; editedAt: string | null }[]).some((m) => m.id === draft.id && m.editedAt)
			}, 'the edit stored')
			await page.reload()
			await first.getByText('final words').waitFor()
			expect(await first.locator('.meta').textContent()).toContain('· edited')
			expect(problems).toEqual([])
		})
	})

	it('sends a reply to a message that arrived live once the database has stored it', async () => {
		await inBrowser(browser, 'reply before stored', async ({ page, problems }) => {
			await signInOnPage(page, world.app.url, user)
			await page.goto(chatUrl(jid(EVA)))
			await page.getByText('Live', { exact: true }).waitFor()
			// Not stored yet, for the first two tries: the API's answer to a reply to a message it does not hold.
			let refused = 0
			await page.route(
				(url) => decodeURIComponent(url.pathname) === `/chats/${jid(EVA)}/messages`,
				(route) =>
					route.request().method() === 'POST' && refused++ < 2
						? route.fulfill({
								status: 404,
								contentType: 'application/json',
								body: JSON.stringify({ error: { code: 'MESSAGE_NOT_FOUND', message: 'replyTo names no message of this session' } }),
							})
						: route.continue(),
			)
			const question = await world.standIn.deliverText({ to: PHONE, from: EVA, text: 'is it in stock?' })
			await page
				.getByRole('listitem')
				.filter({ hasText: 'is it in stock?' })
				.getByRole('button', { name: /^Reply to/ })
				.click()
			await page.getByLabel('Message', { exact: true }).fill('yes, two left')
			await page.getByRole('button', { name: 'Send' }).click()
			const sent = await world.standIn.waitForSent((m) => m.to === jid(EVA) && m.text === 'yes, two left')
			expect(sent.message?.extendedTextMessage?.contextInfo?.stanzaId).toBe(question.id)
			expect(refused).toBe(3)
			expect(await page.locator('.composer').getByRole('alert').count()).toBe(0)
			expect(problems).toEqual([])
		})
	})

	it('reacts to a message, and takes the reaction back by choosing it again', async () => {
		const nice = await world.standIn.deliverText({ to: PHONE, from: FINN, text: 'it works now' })
		await stored(jid(FINN), nice.id)
		await inBrowser(browser, 'chat reaction', async ({ page, problems }) => {
			await signInOnPage(page, world.app.url, user)
			await page.goto(chatUrl(jid(FINN)))
			const item = page.locator(`[data-message-id="${nice.id}"]`)
			await item.getByRole('button', { name: 'React', exact: true }).click()
			await item.getByRole('button', { name: 'React with 👍' }).click()
			const sent = await world.standIn.waitForSent((m) => m.message?.reactionMessage?.key?.id === nice.id && m.message.reactionMessage.text === '👍')
			expect(sent.to).toBe(jid(FINN))
			await until(async () => (await item.locator('.meta').textContent())?.includes('👍') || null, 'the reaction shown')
			await item.getByRole('button', { name: 'React', exact: true }).click()
			const mine = item.getByRole('button', { name: 'Take back your reaction 👍' })
			expect(await mine.getAttribute('aria-pressed')).toBe('true')
			await mine.click()
			await world.standIn.waitForSent((m) => m.message?.reactionMessage?.key?.id === nice.id && m.message.reactionMessage.text === '')
			await until(async () => !(await item.locator('.meta').textContent())?.includes('👍') || null, 'the reaction gone')
			expect(problems).toEqual([])
		})
	})

	it('keeps the message box on a 360 px screen, and the page within it under a very long name', async () => {
		const hello = await world.standIn.deliverText({
			to: PHONE,
			from: LEO,
			pushName: 'Hubert Wolfeschlegelsteinhausenbergerdorffvoralternwarengewissenhaft',
			text: 'hi',
		})
		await stored(jid(LEO), hello.id)
		await inBrowser(
			browser,
			'chat phone',
			async ({ page, problems }) => {
				await signInOnPage(page, world.app.url, user)
				await page.goto(chatUrl(jid(LEO)))
				await page.getByRole('heading', { name: /Wolfeschlegel/, level: 1 }).waitFor()
				const message = page.getByLabel('Message', { exact: true })
				const box = (await message.boundingBox())!
				expect(box.y + box.height).toBeLessThanOrEqual(740)
				expect(await page.evaluate('document.documentElement.scrollWidth')).toBeLessThanOrEqual(360)
				// The box grows with what is written, each line in view, up to about eight lines; then it scrolls.
				const lines = (n: number) => Array.from({ length: n }, (_, i) => `line ${i + 1}`).join('\n')
				const shape = async () =>
					(await message.evaluate((box) => ({ height: box.getBoundingClientRect().height, scroll: box.scrollHeight, client: box.clientHeight }))) as {
						height: number
						scroll: number
						client: number
					}
				await message.fill(lines(4))
				const four = await shape()
				expect(four.height).toBeGreaterThan(box.height * 2.5)
				expect(four.scroll).toBeLessThanOrEqual(four.client)
				await message.fill(lines(30))
				const thirty = await shape()
				expect(thirty.height).toBeGreaterThan(four.height * 1.5)
				expect(thirty.height).toBeLessThan(four.height * 3)
				expect(thirty.scroll).toBeGreaterThan(thirty.client)
				const grown = (await message.boundingBox())!
				expect(grown.y + grown.height).toBeLessThanOrEqual(740)
				await message.fill('')
				expect((await shape()).height).toBe(box.height)
				expect(await page.evaluate('document.documentElement.scrollWidth')).toBeLessThanOrEqual(360)
				expect(problems).toEqual([])
			},
			{ viewport: { width: 360, height: 740 } },
		)
	})
})

describe('contacts in the dashboard', () => {
	it('finds a contact by name, and keeps the search through its chat and back, and through a reload', async () => {
		const api = clientFor(world.app, user)
		await world.standIn.deliverText({ to: PHONE, from: IDA, pushName: 'Ida Ostrova', text: 'hello' })
		await until(async () => (await api.get('/contacts?q=ostrova')).body?.items?.length === 1, 'Ida stored as a contact')
		await inBrowser(browser, 'contacts search', async ({ page, problems }) => {
			await signInOnPage(page, world.app.url, user)
			await page.goto(`${world.app.url}/app/sessions/${session.id}/contacts`)
			await page.getByLabel('Search contacts').fill('ostrova')
			const found = page.getByRole('list', { name: 'Contacts' }).getByRole('link')
			await until(async () => (await found.count()) === 1 || null, 'one contact found')
			await found.getByText('Ida Ostrova').click()
			await page.getByRole('heading', { name: 'Ida Ostrova', level: 1 }).waitFor()
			await page.goBack()
			await page.getByRole('heading', { name: 'Contacts', level: 1 }).waitFor()
			expect(await page.getByLabel('Search contacts').inputValue()).toBe('ostrova')
			await until(async () => (await found.count()) === 1 || null, 'still the one contact')
			await page.reload()
			expect(await page.getByLabel('Search contacts').inputValue()).toBe('ostrova')
			await until(async () => (await found.allTextContents()).some((t) => t.includes('Ida Ostrova')) || null, 'found after the reload')
			expect(await found.count()).toBe(1)
			expect(problems).toEqual([])
		})
	})

	it('shows a person who writes while the list is open where its order puts them, and their new name as it changes', async () => {
		await inBrowser(browser, 'contacts live', async ({ page, problems }) => {
			await signInOnPage(page, world.app.url, user)
			await page.goto(`${world.app.url}/app/sessions/${session.id}/contacts`)
			const names = page.getByRole('list', { name: 'Contacts' }).locator('.chat-name')
			await names.first().waitFor()
			const before = await names.count()
			await world.standIn.deliverText({ to: PHONE, from: NED, pushName: 'Aaron Ned', text: 'hello' })
			await until(async () => (await names.first().textContent()) === 'Aaron Ned' || null, 'the new person, first by name, without a reload')
			expect(await names.count()).toBe(before + 1)
			await world.standIn.deliverText({ to: PHONE, from: NED, pushName: 'Zed Ned', text: 'a new name' })
			await until(async () => (await names.allTextContents()).includes('Zed Ned') || null, 'the new name')
			const shown = await names.allTextContents()
			expect(shown).not.toContain('Aaron Ned')
			expect(shown.length).toBe(before + 1)
			// Where the order puts the new name: after every name that sorts before it.
			const named = shown.filter((n) => !n.startsWith('+'))
			expect(named.indexOf('Zed Ned')).toBe(named.findLastIndex((n) => n.toLowerCase() <= 'zed ned'))
			expect(problems).toEqual([])
		})
	})
})
