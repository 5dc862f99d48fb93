import { and, eq, isNotNull, ne, or, sql } from 'drizzle-orm'
import type { SessionStatus } from '../core/session-status'
import type { Db } from './client'
import { sessionAuth, sessionMessages, sessions } from './schema'

/** A session as a runner needs it to start one. */
export interface RunnableSession {
	id: string
	tenantId: string
	phoneNumber: string | null
	jid: string | null
	status: SessionStatus
}

/** What the runner reads from Postgres; everything it writes travels as events or auth state. */
export interface RunnerStore {
	/** The session, deleted ones included (the runner logs those out), or undefined. */
	session(id: string): Promise<RunnableSession | undefined>
	/** Every session whose owner wants it running and that can run without someone stepping in. */
	sessionsToRun(): Promise<RunnableSession[]>
	/** Whether the session has stored credentials: a linked device WhatsApp knows of. */
	isPaired(sessionId: string): Promise<boolean>
	/**
	 * Whether a message with this id of ours is stored: it was sent. A row with a receipt alone (its
	 * `kind` null) does not count: WhatsApp's receipt can be stored before the message itself, and a
	 * runner that died between the two leaves the message to be sent again (same id) and recorded.
	 */
	wasSent(sessionId: string, messageId: string): Promise<boolean>
	/** The stored content of a message, for WhatsApp's retry requests. */
	messageContent(sessionId: string, messageId: string, fromMe: boolean): Promise<Record<string, unknown> | null>
}

/** WhatsApp's close code when another connection logs in with the same credentials. */
const CONNECTION_REPLACED = 440

const runnable = { id: sessions.id, tenantId: sessions.tenantId, phoneNumber: sessions.phoneNumber, jid: sessions.jid, status: sessions.status }

export function createRunnerStore(db: Db): RunnerStore {
	return {
		async session(id) {
			const [row] = await db.select(runnable).from(sessions).where(eq(sessions.id, id))
			return row
		},
		sessionsToRun: () =>
			db
				.select(runnable)
				.from(sessions)
				// A logged-out session needs a new pairing, which someone has to ask for; so do a failed
				// one that was never paired (its QR codes went unscanned) and one another connection took
				// over (440): started again unasked, the first shows QR codes to nobody, the second takes
				// the account back from whoever holds it now.
				.where(
					and(
						eq(sessions.desiredState, 'running'),
						ne(sessions.status, 'logged_out'),
						or(
							ne(sessions.status, 'failed'),
							and(isNotNull(sessions.jid), sql`${sessions.lastDisconnectCode} is distinct from ${CONNECTION_REPLACED}`),
						),
					),
				),
		async isPaired(sessionId) {
			const [row] = await db.select({ id: sessionAuth.sessionId }).from(sessionAuth).where(eq(sessionAuth.sessionId, sessionId))
			return !!row
		},
		async wasSent(sessionId, messageId) {
			const [row] = await db
				.select({ id: sessionMessages.messageId })
				.from(sessionMessages)
				.where(
					and(
						eq(sessionMessages.sessionId, sessionId),
						eq(sessionMessages.messageId, messageId),
						eq(sessionMessages.fromMe, true),
						isNotNull(sessionMessages.kind),
					),
				)
				.limit(1)
			return !!row
		},
		async messageContent(sessionId, messageId, fromMe) {
			const [row] = await db
				.select({ content: sessionMessages.content })
				.from(sessionMessages)
				.where(and(eq(sessionMessages.sessionId, sessionId), eq(sessionMessages.messageId, messageId), eq(sessionMessages.fromMe, fromMe)))
				.limit(1)
			return (row?.content as Record<string, unknown> | null | undefined) ?? null
		},
	}
}
