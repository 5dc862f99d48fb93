import { fileURLToPath } from 'node:url'
import { drizzle as drizzlePglite } from 'drizzle-orm/pglite'
import { migrate as migratePglite } from 'drizzle-orm/pglite/migrator'
import { drizzle as drizzlePostgres } from 'drizzle-orm/postgres-js'
import { migrate as migratePostgres } from 'drizzle-orm/postgres-js/migrator'
import type { PGlite } from '@electric-sql/pglite'
import postgres from 'postgres'

export const MIGRATIONS_FOLDER = fileURLToPath(new URL('../../drizzle', import.meta.url))

/** Advisory lock key held while migrating ("migr" in ASCII). */
const MIGRATION_LOCK = 0x6d696772

/**
 * Applies the drizzle-kit migrations over one dedicated connection: drizzle's migrator runs them
 * in a transaction and a pooled client could interleave other work with it.
 */
export async function migratePostgresUrl(url: string): Promise<void> {
	const sql = postgres(url, { max: 1, onnotice: () => {} })
	try {
		// A fleet starting together would otherwise race to create the same tables; the lock is the
		// session's, so ending the connection releases it.
		await sql`select pg_advisory_lock(${MIGRATION_LOCK})`
		await migratePostgres(drizzlePostgres({ client: sql }), { migrationsFolder: MIGRATIONS_FOLDER })
	} finally {
		await sql.end({ timeout: 5 })
	}
}

export async function migratePgliteClient(client: PGlite): Promise<void> {
	await migratePglite(drizzlePglite({ client }), { migrationsFolder: MIGRATIONS_FOLDER })
}
