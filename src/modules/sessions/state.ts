import { and, eq, isNull } from 'drizzle-orm'
import { ConflictError, NotFoundError } from '../../core/errors'
import type { Db, Tx } from '../../db/client'
import { sessions } from '../../db/schema'

/** Where a session's connection is, and why it lost it when it did. */
export interface ConnectionState {
	status: string
	lastError: string | null
}

/** The status of a session of the tenant; 404 for another tenant's or a deleted one. */
export async function sessionStatus(tx: Db | Tx, tenantId: string, sessionId: string): Promise<ConnectionState> {
	const [session] = await tx
		.select({ status: sessions.status, lastError: sessions.lastError })
		.from(sessions)
		.where(and(eq(sessions.id, sessionId), eq(sessions.tenantId, tenantId), isNull(sessions.deletedAt)))
	if (!session) throw NotFoundError.of('Session')
	return session
}

/**
 * The status as a refusal names it: with the reason the connection was lost while the session
 * tries again (a newcomer's session reconnecting because WhatsApp cannot be resolved says so).
 */
export function describeStatus({ status, lastError }: ConnectionState): { text: string; details: { status: string; lastError?: string } } {
	if (status === 'reconnecting' && lastError) return { text: `${status}: ${lastError}`, details: { status, lastError } }
	return { text: status, details: { status } }
}

/**
 * Seconds after which a session that is starting or reconnecting is worth asking again: it moves
 * runners in about a second (up to 15 s when its runner died), and reconnects after 1 s, 2 s, 4 s….
 */
const RECONNECT_RETRY_AFTER_SECONDS = 5

/** What to do about a session that is not connected, by status; the rest must be started. */
const ADVICE: Partial<Record<string, string>> = {
	reconnecting: 'it reconnects on its own: wait for status connected',
	starting: 'it is starting: wait for status connected',
	qr: 'link it (scan the QR or enter the pairing code) and wait for status connected',
}

/**
 * Anything sent to a session that is not up would only come back as session.command.failed. A
 * session on its way up on its own (starting, reconnecting) says when to ask again (Retry-After);
 * one waiting for a QR scan or a start does not.
 */
export function assertConnected(state: ConnectionState): void {
	if (state.status === 'connected') return
	const { text, details } = describeStatus(state)
	const onItsWay = state.status === 'starting' || state.status === 'reconnecting'
	const advice = ADVICE[state.status] ?? 'start it and wait for status connected'
	throw new ConflictError(
		'SESSION_NOT_CONNECTED',
		`The session is not connected (status: ${text}); ${advice}`,
		details,
		onItsWay ? RECONNECT_RETRY_AFTER_SECONDS : undefined,
	)
}
