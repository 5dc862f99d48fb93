import { and, eq, type SQL, type SQLWrapper, sql } from 'drizzle-orm'
import type { Db, Tx } from './client'
import { sessionLidMappings } from './schema'

const p = sql.placeholder

/**
 * The `jid` placeholder and its other form (a LID's phone-number JID, or a phone number's LID)
 * from the `sid` session's mappings, as a text array for `= any(…)`. Postgres computes it once per
 * statement (an InitPlan), so each comparison with it is an index lookup rather than a filter over
 * every row of the session.
 */
export const jidFormsOf = formsOf(p('sid'), p('jid'))

/** `jid` and its other form in `sessionId`'s mappings, as jidFormsOf, for a statement that is not prepared. */
export function formsOf(sessionId: SQLWrapper | string, jid: SQLWrapper | string): SQL {
	return sql`array(select ${jid}::text union all select pn from session_lid_mappings where session_id = ${sessionId} and lid = ${jid}
			union all select lid from session_lid_mappings where session_id = ${sessionId} and pn = ${jid})`
}

/**
 * The chat a message to `jid` is filed under: a LID's phone-number JID when the session knows it
 * (the projection files a person's messages under that one), else `jid` itself.
 */
export async function filedChatJid(db: Db | Tx, sessionId: string, jid: string): Promise<string> {
	if (!jid.endsWith('@lid')) return jid
	const [row] = await db
		.select({ pn: sessionLidMappings.pn })
		.from(sessionLidMappings)
		.where(and(eq(sessionLidMappings.sessionId, sessionId), eq(sessionLidMappings.lid, jid)))
	return row?.pn ?? jid
}
