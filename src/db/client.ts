import { PGlite } from '@electric-sql/pglite'
import { sql as rawSql } from 'drizzle-orm'
import type { PgDatabase, PgQueryResultHKT } from 'drizzle-orm/pg-core'
import { drizzle as drizzlePglite } from 'drizzle-orm/pglite'
import { drizzle as drizzlePostgres } from 'drizzle-orm/postgres-js'
import postgres, { type Sql } from 'postgres'
import { migratePgliteClient, migratePostgresUrl } from './migrate'
import * as schema from './schema'

export { schema }
export type Schema = typeof schema
/** The Drizzle handle every service takes; the same type over postgres.js and PGlite. */
export type Db = PgDatabase<PgQueryResultHKT, Schema>
/** A transaction handed to a `db.transaction` callback. */
export type Tx = Parameters<Parameters<Db['transaction']>[0]>[0]

export interface Database {
	db: Db
	kind: 'postgres' | 'pglite'
	/** The postgres.js client for bulk paths (COPY, unnest); null in embedded mode. */
	sql: Sql | null
	/** Applies pending migrations from `drizzle/`. */
	migrate(): Promise<void>
	/**
	 * LISTENs on `channel`: `onNotify` gets each payload, `onListening` runs whenever the listen
	 * starts, again after a lost connection came back (notices in between were missed).
	 */
	listen(channel: string, onNotify: (payload: string) => void, onListening?: () => void): Promise<{ stop(): Promise<void> }>
	ping(): Promise<void>
	close(): Promise<void>
}

export interface PostgresOptions {
	url: string
	max?: number
	applicationName?: string
}

export function openPostgres({ url, max = 10, applicationName = 'switchboard' }: PostgresOptions): Database {
	const sql = postgres(url, {
		max,
		onnotice: () => {},
		// UTC, so timestamps read as text are in the one form lib/keyset.ts maps without parsing.
		connection: { application_name: applicationName, TimeZone: 'UTC' },
		// Each pooled connection is idle-closed so a quiet process does not hold the server's slots.
		idle_timeout: 30,
		connect_timeout: 5,
	})
	const db = drizzlePostgres({ client: sql, schema }) as unknown as Db
	return {
		db,
		kind: 'postgres',
		sql,
		migrate: () => migratePostgresUrl(url),
		async listen(channel, onNotify, onListening) {
			const { unlisten } = await sql.listen(channel, onNotify, onListening)
			return { stop: unlisten }
		},
		async ping() {
			await sql`select 1`
		},
		async close() {
			await sql.end({ timeout: 5 })
		},
	}
}

export interface PgliteOptions {
	/** Directory for the data files; omit for an in-memory database. */
	dataDir?: string
}

export async function openPglite(options: PgliteOptions = {}): Promise<Database> {
	const client = await PGlite.create({ dataDir: options.dataDir })
	const db = drizzlePglite({ client, schema }) as unknown as Db
	return {
		db,
		kind: 'pglite',
		sql: null,
		migrate: () => migratePgliteClient(client),
		async listen(channel, onNotify, onListening) {
			const unlisten = await client.listen(channel, onNotify)
			onListening?.()
			return { stop: unlisten }
		},
		async ping() {
			await db.execute(rawSql`select 1`)
		},
		async close() {
			if (!client.closed) await client.close()
		},
	}
}
