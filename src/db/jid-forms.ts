import { type SQL, type SQLWrapper, sql } from 'drizzle-orm'

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
