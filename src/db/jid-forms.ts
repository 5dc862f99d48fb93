import { sql } from 'drizzle-orm'

const p = sql.placeholder

/**
 * The `jid` placeholder and its other form (a LID's phone-number JID, or a phone number's LID)
 * from the `sid` session's mappings, as a text array for `= any(…)`. Postgres computes it once per
 * statement (an InitPlan), so each comparison with it is an index lookup rather than a filter over
 * every row of the session.
 */
export const jidFormsOf = sql`array(select ${p('jid')}::text union all select pn from session_lid_mappings where session_id = ${p('sid')} and lid = ${p('jid')}
			union all select lid from session_lid_mappings where session_id = ${p('sid')} and pn = ${p('jid')})`
