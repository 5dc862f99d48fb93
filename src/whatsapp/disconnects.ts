import { DisconnectReason } from '@whiskeysockets/baileys'

/**
 * What a closed socket means for the session (the table of close codes in docs/api.md). Pure, so the
 * policy is tested without a socket.
 */
export type DisconnectAction =
	/** 515: the server asks for a new socket with the same auth, now (after pairing, or any time). */
	| { action: 'restart'; reason: string }
	/** Transient: a new socket after a backoff, up to the attempt limit. */
	| { action: 'reconnect'; reason: string }
	/** 401/403: the device is unlinked; creds and keys are deleted. `message` says so to a person. */
	| { action: 'logged_out'; reason: string; message: string }
	/** Do not try again on our own. */
	| { action: 'failed'; reason: string; message: string }

export interface Disconnect {
	code: number | undefined
	message: string | undefined
}

const QR_REFS_ENDED = 'QR refs attempts ended'

export function classifyDisconnect({ code, message }: Disconnect, { paired }: { paired: boolean }): DisconnectAction {
	switch (code) {
		case DisconnectReason.restartRequired:
			return { action: 'restart', reason: 'restart_required' }
		case DisconnectReason.loggedOut:
			return {
				action: 'logged_out',
				reason: 'logged_out',
				message: 'the phone unlinked this device, or WhatsApp ended its login; start the session to link it again with a new QR code',
			}
		case DisconnectReason.forbidden:
			return {
				action: 'logged_out',
				reason: 'forbidden',
				message: 'WhatsApp refused this account (403: it may be banned or restricted); start the session to link it again',
			}
		case DisconnectReason.connectionReplaced:
			// Another socket logged in with these creds. Reconnecting would kick it, and it would kick
			// us back: two owners fighting. Stop here and let a person (or the lease holder) decide.
			return {
				action: 'failed',
				reason: 'connection_replaced',
				message: 'another connection uses these credentials (replaced, 440); not reconnecting',
			}
		case DisconnectReason.multideviceMismatch:
			return { action: 'failed', reason: 'multidevice_mismatch', message: message ?? 'multi-device mismatch (411)' }
		case DisconnectReason.timedOut:
			// The same 408 ends an unscanned QR series: nobody is looking, so do not show new ones forever.
			if (!paired && message?.includes(QR_REFS_ENDED))
				return { action: 'failed', reason: 'qr_timeout', message: 'no QR code was scanned in time; start the session again for new ones' }
			return { action: 'reconnect', reason: 'connection_lost' }
		case DisconnectReason.connectionClosed:
			return { action: 'reconnect', reason: 'connection_closed' }
		case DisconnectReason.badSession:
			return { action: 'reconnect', reason: 'bad_session' }
		case DisconnectReason.unavailableService:
			return { action: 'reconnect', reason: 'unavailable_service' }
		default:
			return { action: 'reconnect', reason: code ? `connection_error_${code}` : 'connection_error' }
	}
}

export interface ReconnectPolicy {
	/** Delay before the first retry; doubles per consecutive failure. */
	baseMs: number
	maxMs: number
	/** Consecutive failed attempts (without reaching `open`) before the session is marked failed. */
	maxAttempts: number
}

export const DEFAULT_RECONNECT: ReconnectPolicy = { baseMs: 1_000, maxMs: 60_000, maxAttempts: 10 }

/**
 * Exponential backoff with "equal jitter": half the delay is fixed, half random, so a fleet of
 * sessions dropped by the same outage does not come back in lockstep.
 */
export function backoffDelay(attempt: number, policy: Pick<ReconnectPolicy, 'baseMs' | 'maxMs'>, random = Math.random): number {
	const ceiling = Math.min(policy.maxMs, policy.baseMs * 2 ** Math.max(0, attempt - 1))
	return Math.round(ceiling / 2 + (ceiling / 2) * random())
}

/** Status code and message of the error Baileys closes a socket with (a Boom, usually). */
export function disconnectOf(error: unknown): Disconnect {
	const boom = error as { output?: { statusCode?: number }; message?: string } | undefined
	return { code: boom?.output?.statusCode, message: boom?.message }
}

/**
 * A socket error that never reached WhatsApp, in words a person acts on: the socket library names
 * only the system call (`WebSocket Error (getaddrinfo ENOTFOUND web.whatsapp.com)`). Anything else
 * is returned as it is.
 */
export function plainSocketError(message: string | undefined): string | undefined {
	const unresolved = /getaddrinfo (?:ENOTFOUND|EAI_AGAIN) ([^\s)]+)/.exec(message ?? '')
	if (unresolved) return `cannot reach WhatsApp: ${unresolved[1]} does not resolve (is this server online, with working DNS?)`
	const refused = /connect ECONNREFUSED ([^\s)]+)/.exec(message ?? '')
	if (refused) return `cannot reach WhatsApp: ${refused[1]} refused the connection (is a firewall or proxy in the way?)`
	const silent = /connect (?:ETIMEDOUT|EHOSTUNREACH|ENETUNREACH) ([^\s)]+)/.exec(message ?? '')
	if (silent) return `cannot reach WhatsApp: no route to ${silent[1]}, or no answer (is this server online?)`
	return message
}
