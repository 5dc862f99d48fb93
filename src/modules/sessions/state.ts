import { and, eq, isNull } from 'drizzle-orm'
import { ConflictError, NotFoundError } from '../../core/errors'
import type { Db, Tx } from '../../db/client'
import { sessions } from '../../db/schema'

/** The status of a session of the tenant; 404 for another tenant's or a deleted one. */
export async function sessionStatus(tx: Db | Tx, tenantId: string, sessionId: string): Promise<string> {
	const [session] = await tx
		.select({ status: sessions.status })
		.from(sessions)
		.where(and(eq(sessions.id, sessionId), eq(sessions.tenantId, tenantId), isNull(sessions.deletedAt)))
	if (!session) throw NotFoundError.of('Session')
	return session.status
}

/** Anything sent to a session that is not up would only come back as session.command.failed. */
export function assertConnected(status: string): void {
	if (status !== 'connected')
		throw new ConflictError('SESSION_NOT_CONNECTED', `The session is not connected (status: ${status}); start it and wait for status connected`, {
			status,
		})
}
