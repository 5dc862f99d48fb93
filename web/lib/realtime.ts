import { useEffect, useRef } from 'preact/hooks'
import type { App } from '../../src/app'
import { account, currentAccessToken, refresh } from './api'
import { store } from './store'

/**
 * The one WebSocket of the dashboard (`/ws/sessions`). Each message's `id` is its position in the
 * event stream; reconnecting with `?since=<last id>` replays what was missed, so nothing is lost
 * across a dropped connection, and anything at or before the last position seen is ignored, so
 * nothing shows twice. A 4401 close (the token expired or was revoked) refreshes the token first.
 */

export type RealtimeMessage = App['~Routes']['ws']['sessions']['subscribe']['response'][200]
/** The subprotocol that carries the access token (the server's ACCESS_TOKEN_PROTOCOL). */
const ACCESS_TOKEN_PROTOCOL = 'switchboard.access-token'
export type RealtimeEvent = Exclude<RealtimeMessage, { type: 'session.snapshot' | 'session.resync_required' }>

export type Connection = 'connecting' | 'live' | 'offline'
export const connection = store<Connection>('offline')
/**
 * When the live connection was lost, null while it is live (or was never live since the sign-in):
 * what the pages show from it is as of then, until it is back.
 */
export const lostAt = store<string | null>(null)
/**
 * Why the server refused the live connection (4403, 4429: its close reason, such as the account
 * holding as many sockets as it may), null otherwise: retrying alone would not tell the user.
 */
export const refusal = store<string | null>(null)
let wasLive = false
connection.subscribe((now) => {
	if (wasLive && now !== 'live') lostAt.set(new Date().toISOString())
	if (now === 'live') {
		lostAt.set(null)
		refusal.set(null)
	}
	wasLive = now === 'live'
})

/**
 * Calls `callback` each time the connection turns live again while the component is mounted: the
 * server is back, and what failed while it was away (a page's load, a send) can be tried again.
 */
export function useWhenLiveAgain(callback: () => void) {
	const latest = useRef(callback)
	latest.current = callback
	useEffect(() => {
		let was = connection.get()
		return connection.subscribe((now) => {
			if (now === 'live' && was !== 'live') latest.current()
			was = now
		})
	}, [])
}

const listeners = new Set<(message: RealtimeMessage) => void>()
/**
 * The newest events, for pages that open after them. The database is written from the same events
 * a moment later, so a page that opens on a chat that just appeared may load it before it is
 * stored: the page applies these on top of what it loads, as if it had been open.
 */
const RECENT = 500
const recent: RealtimeEvent[] = []

/** Every message from now on, in stream order, after the recent events; returns the unsubscribe. */
export function onRealtime(listener: (message: RealtimeMessage) => void): () => void {
	listeners.add(listener)
	for (const message of recent) listener(message)
	return () => listeners.delete(listener)
}

/** `<ms>-<seq>` positions, compared as numbers. */
function after(a: string, b: string): boolean {
	const [am = 0, as = 0] = a.split('-').map(Number)
	const [bm = 0, bs = 0] = b.split('-').map(Number)
	return am !== bm ? am > bm : as > bs
}

/**
 * Whether a page must load again what it showed: a snapshot starts the stream at its own position
 * (a fresh connection, or one that could not resume), and a page's REST load may have read the
 * database before that position, so whatever happened in between would never show. Pages mount
 * and load before their first snapshot arrives, and the socket connects while they load.
 */
export const startsOver = (message: RealtimeMessage) => message.type === 'session.snapshot'

let socket: WebSocket | null = null
let lastId: string | null = null
let attempts = 0
let retry: ReturnType<typeof setTimeout> | undefined
let wanted = false

function deliver(message: RealtimeMessage) {
	if ('id' in message && message.type !== 'session.snapshot') {
		if (lastId !== null && !after(message.id, lastId)) return
		lastId = message.id
		if (recent.push(message) > RECENT) recent.shift()
	} else if (message.type === 'session.snapshot') lastId = message.id
	for (const listener of [...listeners]) listener(message)
}

function connect() {
	clearTimeout(retry)
	const accessToken = currentAccessToken()
	if (!wanted || !accessToken) return
	connection.set('connecting')
	// The token rides in a subprotocol, not the URL: a browser prints a failed socket's URL to its
	// console, and proxies log URLs. (Eden's socket takes no protocols; the messages are parsed here, as plain JSON.)
	const url = new URL('/ws/sessions', window.location.href)
	url.protocol = url.protocol === 'https:' ? 'wss:' : 'ws:'
	if (lastId) url.searchParams.set('since', lastId)
	const ws = new WebSocket(url, [ACCESS_TOKEN_PROTOCOL, accessToken])
	socket = ws
	// A new connection is live with its snapshot, the first message. One that resumes with `since` is
	// live once open: when nothing was missed, no message comes until the next event.
	const resuming = lastId !== null
	ws.addEventListener('open', () => resuming && socket === ws && connection.set('live'))
	ws.addEventListener('message', (event) => {
		if (socket !== ws) return
		attempts = 0
		connection.set('live')
		deliver(JSON.parse(String(event.data)) as RealtimeMessage)
	})
	ws.addEventListener('close', async (event) => {
		if (socket !== ws) return
		socket = null
		connection.set('offline')
		if (!wanted) return
		if (event.code === 4401) {
			if (await refresh()) connect()
			return
		}
		refusal.set(event.code === 4403 || event.code === 4429 ? event.reason : null)
		// 1001 shutting down, 1011 server error, 1013 slow consumer, or the network: back off and resume.
		const delay = Math.min(10_000, 250 * 2 ** attempts++) * (0.5 + Math.random() / 2)
		retry = setTimeout(connect, delay)
	})
}

export function startRealtime() {
	if (wanted) return
	wanted = true
	connect()
}

export function stopRealtime() {
	wanted = false
	clearTimeout(retry)
	const ws = socket
	socket = null
	ws?.close(1000)
	lastId = null
	recent.length = 0
	connection.set('offline')
	lostAt.set(null)
	refusal.set(null)
}

window.addEventListener('online', () => {
	if (wanted && !socket) connect()
})
account.subscribe((user) => (user ? startRealtime() : stopRealtime()))
