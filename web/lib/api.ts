import { type Treaty, treaty } from '@elysiajs/eden'
import type { App } from '../../src/app'
import { store } from './store'

/**
 * Every call the dashboard makes goes through Eden (`treaty<App>`), so a change of the API that
 * breaks the dashboard breaks its type check (`bunx tsc --noEmit -p web`).
 *
 * The access token lives in memory only: a script injected into the page could read storage, and
 * the refresh token, an httpOnly cookie scoped to `/auth`, is out of any script's reach. A reload
 * gets a new access token from that cookie. The token is renewed a little before it expires, and
 * a request answered 401 (expired early, revoked, a clock off) is retried once after a refresh.
 */

// parseDate off: Eden would otherwise turn any string that contains a date, message text
// included, into a Date object that the types do not announce.
const base = window.location.origin

/** The signed-in user; undefined until the first refresh has answered, null when signed out. */
export type User = Treaty.Data<ReturnType<typeof plain.auth.login.post>>['user']
export const account = store<User | null | undefined>(undefined)

let accessToken: string | null = null
let renewal: ReturnType<typeof setTimeout> | undefined

/** The current access token (for the WebSocket, which cannot send headers). */
export const currentAccessToken = () => accessToken

function withToken(init: RequestInit = {}): RequestInit {
	const headers = { ...(init.headers as Record<string, string> | undefined) }
	if (accessToken) headers.authorization = `Bearer ${accessToken}`
	return { ...init, headers }
}

/** fetch with the access token, and one retry after a refresh when the token was refused. */
async function authorizedFetch(input: RequestInfo | URL, init?: RequestInit): Promise<Response> {
	const sent = accessToken
	const response = await fetch(input, withToken(init))
	if (response.status !== 401 || sent === null) return response
	// Another request may have refreshed meanwhile; otherwise refresh now.
	if (accessToken === sent && !(await refresh())) return response
	return fetch(input, withToken(init))
}

/**
 * A file's bytes (GET /media/:id), or null when it cannot be had. The one call not made through
 * Eden: Eden reads any body that is not JSON as text, and a photo is not text.
 */
export async function fetchMedia(id: string): Promise<Blob | null> {
	const response = await authorizedFetch(`${base}/media/${encodeURIComponent(id)}`)
	return response.ok ? response.blob() : null
}

const plain = treaty<App>(base, { parseDate: false })
/** The API, signed in. */
export const api = treaty<App>(base, { parseDate: false, fetcher: authorizedFetch as typeof fetch })

type Issued = Treaty.Data<ReturnType<typeof plain.auth.login.post>>

/**
 * Marked in this browser from a sign-in to the sign-out. A visitor without it has no refresh cookie
 * to present (unless they signed in before the mark existed), and the boot does not ask to refresh:
 * the answer, 401, is an error in the browser's console on every public page. Not a secret: the
 * cookie is, and a mark left behind (the cookie expired) costs one refused refresh, which clears it.
 */
const SIGNED_IN_MARK = 'switchboard-signed-in'
function mark(signedIn: boolean) {
	try {
		if (signedIn) localStorage.setItem(SIGNED_IN_MARK, '1')
		else localStorage.removeItem(SIGNED_IN_MARK)
	} catch {
		// Storage refused (a browser's privacy setting): the boot then refreshes as if marked.
	}
}

/** Whether this browser may hold a sign-in: the boot refreshes only then. */
export function maySignIn(): boolean {
	try {
		return localStorage.getItem(SIGNED_IN_MARK) !== null
	} catch {
		return true
	}
}

function adopt(issued: Issued) {
	accessToken = issued.accessToken
	mark(true)
	account.set(issued.user)
	clearTimeout(renewal)
	// A minute early, or a fifth of the lifetime for short-lived tokens.
	const lifetimeMs = issued.expiresIn * 1000
	renewal = setTimeout(() => void refresh(), Math.max(1000, lifetimeMs - Math.min(60_000, lifetimeMs / 5)))
}

/** Forgets the session in this tab. */
export function signedOut() {
	accessToken = null
	mark(false)
	clearTimeout(renewal)
	account.set(null)
}

let refreshing: Promise<boolean> | null = null

/**
 * A new access token from the refresh cookie. Refresh tokens work once: two tabs refreshing with
 * the same cookie at the same moment would look like a stolen token and sign both out, so tabs
 * take turns (Web Locks), and each then presents the cookie the previous one received.
 */
export function refresh(): Promise<boolean> {
	refreshing ??= (async () => {
		const run = async () => {
			const { data, error } = await plain.auth.refresh.post()
			if (data) {
				adopt(data)
				return true
			}
			// Offline or a server error: keep what we have and try again later.
			if (error && error.status !== 401 && error.status !== 400) return false
			signedOut()
			return false
		}
		try {
			return navigator.locks ? await navigator.locks.request('switchboard-refresh', run) : await run()
		} finally {
			refreshing = null
		}
	})()
	return refreshing
}

export async function signIn(email: string, password: string) {
	const result = await plain.auth.login.post({ email, password })
	if (result.data) adopt(result.data)
	return result
}

/** Tells the other tabs of this dashboard about a sign-out: they share the cookie, so they end too. */
const tabs = typeof BroadcastChannel === 'undefined' ? null : new BroadcastChannel('switchboard-account')
if (tabs) tabs.onmessage = (event) => event.data === 'signed-out' && signedOut()

/**
 * Logs out (everywhere: every token of the account), here and in the other tabs. `leave` moves this
 * tab off the signed-in pages first: signed out while still on one, the tab would be sent to sign
 * in with that page as where to return, which is right for a tab signed out by another, not for this one.
 */
export async function signOut(everywhere: boolean, leave: () => void) {
	if (everywhere) await api.auth['logout-all'].post()
	await plain.auth.logout.post()
	leave()
	signedOut()
	tabs?.postMessage('signed-out')
}

export { plain as publicApi }

/** What a request that never reached the server (or found it unable to answer) shows. */
export const UNREACHABLE = 'The server cannot be reached. Try again in a moment.'

/** What an API error says, its code, and which field it is about when its `details` name one. */
export interface Problem {
	code: string | null
	message: string
	fields: Record<string, string>
}

export function problemOf(error: { status: number; value: unknown } | null | undefined): Problem {
	const body = (error?.value ?? null) as { error?: { code?: unknown; message?: unknown; details?: unknown } } | null
	const message = typeof body?.error?.message === 'string' ? body.error.message : null
	const code = typeof body?.error?.code === 'string' ? body.error.code : null
	if (!message) return { code, message: error?.status === 503 ? UNREACHABLE : 'Something went wrong.', fields: {} }
	const fields: Record<string, string> = {}
	const details = body?.error?.details
	for (const item of Array.isArray(details) ? details : [details]) {
		const { field, message: fieldMessage } = (item ?? {}) as { field?: unknown; message?: unknown }
		if (typeof field !== 'string' || field in fields) continue
		// Beside the field, a line of the details reads as the field's own sentence ("Email must be an
		// email address"), without the preamble of the error's message ("Request body is invalid: …").
		// A refusal whose details carry no line (a weak password, a URL refused) says it in its message.
		fields[field] = typeof fieldMessage === 'string' ? `${nameOf(field)} ${fieldMessage}` : message
	}
	return { code, message, fields }
}

/** A field as a sentence begins with it: `phoneNumber` → "Phone number". */
function nameOf(field: string) {
	const words = field.replace(/([a-z])([A-Z])/g, '$1 $2').toLowerCase()
	return `${words.charAt(0).toUpperCase()}${words.slice(1)}`
}
