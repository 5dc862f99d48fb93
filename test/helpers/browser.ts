import { existsSync, mkdirSync } from 'node:fs'
import { join } from 'node:path'
import { type Browser, type BrowserContext, chromium, type Page } from 'playwright-core'
import { REPO_ROOT } from './process'

/**
 * Headless Chromium through Playwright (`playwright-core`, which downloads nothing): the browser is
 * the one the system has, Debian's `chromium` package in CI (`.ci/run` installs it when missing),
 * or the binary `CHROMIUM` names.
 */
export function findChromium(): string {
	const candidates = [process.env.CHROMIUM, '/usr/bin/chromium', '/usr/bin/chromium-browser', '/usr/bin/google-chrome'].filter(Boolean) as string[]
	const found = candidates.find((path) => existsSync(path))
	if (!found) throw new Error(`no Chromium found (tried ${candidates.join(', ')}); install Debian's chromium package or set CHROMIUM`)
	return found
}

export function launchChromium(): Promise<Browser> {
	return chromium.launch({
		executablePath: findChromium(),
		headless: true,
		// The CI machine runs as root, where Chromium's sandbox cannot start.
		args: ['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage'],
	})
}

/** Screenshots of failed tests, git-ignored. */
export const FAILURE_SHOTS = join(REPO_ROOT, 'test-results', 'dashboard')

export interface BrowserTest {
	page: Page
	context: BrowserContext
	/** Console errors, uncaught exceptions and policy violations the page reported. */
	problems: string[]
}

/**
 * Runs `body` in a fresh browser context (its own cookies), and saves a screenshot of the page
 * when it throws, under test-results/dashboard/<name>.png, before the error goes on.
 */
export async function inBrowser(
	browser: Browser,
	name: string,
	body: (test: BrowserTest) => Promise<void>,
	options: { viewport?: { width: number; height: number }; colorScheme?: 'light' | 'dark' } = {},
) {
	const context = await browser.newContext({
		viewport: options.viewport ?? { width: 1100, height: 800 },
		colorScheme: options.colorScheme ?? 'light',
	})
	const page = await context.newPage()
	page.setDefaultTimeout(15_000)
	const problems: string[] = []
	page.on('console', (message) => {
		// Refused requests are part of the flows (a 401 before sign-in); policy violations and script errors are not.
		if (message.type() === 'error' && !message.text().startsWith('Failed to load resource')) problems.push(`console: ${message.text()}`)
	})
	page.on('pageerror', (error) => problems.push(`exception: ${error.message}`))
	// What the page's WebSockets did, for the failure message: a page stuck "Connecting…" shows here
	// whether its socket never opened, or opened and was closed again and again.
	const sockets: string[] = []
	page.on('websocket', (ws) => {
		const name = new URL(ws.url()).pathname
		let frames = 0
		sockets.push(`${name} created`)
		ws.on('framereceived', () => frames++)
		ws.on('socketerror', (error) => sockets.push(`${name} error ${error}`))
		ws.on('close', () => sockets.push(`${name} closed after ${frames} frames`))
	})
	try {
		await body({ page, context, problems })
	} catch (error) {
		mkdirSync(FAILURE_SHOTS, { recursive: true })
		const file = join(FAILURE_SHOTS, `${name.replace(/[^a-z0-9]+/gi, '-').toLowerCase()}.png`)
		await page.screenshot({ path: file, fullPage: true }).catch(() => {})
		if (error instanceof Error)
			error.message += `\n(screenshot: ${file}; page problems: ${JSON.stringify(problems)}; websockets: ${JSON.stringify(sockets)})`
		throw error
	} finally {
		await context.close()
	}
}

/** Signs in on the dashboard at `baseUrl` and waits for the sessions page it lands on. */
export async function signInOnPage(page: Page, baseUrl: string, user: { email: string; password: string }) {
	await page.goto(`${baseUrl}/sign-in`)
	await page.getByLabel('Email').fill(user.email)
	await page.getByLabel('Password').fill(user.password)
	await page.getByRole('button', { name: 'Sign in' }).click()
	await page.getByRole('heading', { name: 'Sessions' }).waitFor()
}
