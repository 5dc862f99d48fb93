import type { Browser } from 'playwright-core'
import { createVerifiedUser, type LoggedInUser } from './accounts'
import { launchChromium } from './browser'
import { type ApiSession, type Client, clientFor, pairedSession, type SessionsWorld, startSessionsWorld } from './sessions'

/** What most dashboard tests start from: a browser, and a user whose session is linked to a stand-in phone. */
export interface PairedDashboard {
	world: SessionsWorld
	browser: Browser
	user: LoggedInUser
	/** The API as that user. */
	api: Client
	session: ApiSession
	close(): Promise<void>
}

/**
 * The time a set-up that pairs a session and launches Chromium gets: both start processes and
 * threads (the app's roles, the stand-in, the browser), and on a loaded 2-core CI host one such
 * set-up once took longer than the 30 s a test gets. What it waits for is set up, not measured.
 */
export const PAIRED_SETUP_TIMEOUT_MS = 90_000

export async function startPairedDashboard(phone: string): Promise<PairedDashboard> {
	const [world, browser] = await Promise.all([startSessionsWorld(), launchChromium()])
	const close = async () => {
		await browser.close()
		await world.close()
	}
	try {
		const user = await createVerifiedUser(world.app)
		const api = clientFor(world.app, user)
		return { world, browser, user, api, session: await pairedSession(world, api, phone), close }
	} catch (err) {
		await close()
		throw err
	}
}
