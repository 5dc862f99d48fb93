import type { SQL } from 'drizzle-orm'
import type { PgDialect, PgSession } from 'drizzle-orm/pg-core'
import type { Db, Tx } from './client'

/**
 * Runs a raw statement as a named prepared statement: the server parses and plans its text once
 * per connection, not on every call. Worth it for the long statements a hot loop repeats (a plan of
 * the webhook claim costs more than running it); the text must not vary between calls, only the
 * parameters. Resolves with the driver's rows (read them with `rowsOf`).
 */
export function executePrepared(db: Db | Tx, name: string, query: SQL): Promise<unknown> {
	const { session, dialect } = db as unknown as { session: PgSession; dialect: PgDialect }
	return session.prepareQuery(dialect.sqlToQuery(query), undefined, name, false).execute()
}
