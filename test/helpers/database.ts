import { createHash } from 'node:crypto'
import { readdirSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import postgres from 'postgres'
import { openPostgres, type Database } from '../../src/db/client'
import { MIGRATIONS_FOLDER, migratePostgresUrl } from '../../src/db/migrate'

export const PG_ADMIN_URL = process.env.TEST_PG_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres'
const STALE_AFTER_MS = 2 * 60 * 60 * 1000

function urlFor(database: string): string {
	const url = new URL(PG_ADMIN_URL)
	url.pathname = `/${database}`
	return url.toString()
}

/** A digest of the migrations: a template named by it is never stale. */
export function migrationsDigest(): string {
	const hash = createHash('sha256')
	for (const file of readdirSync(MIGRATIONS_FOLDER)
		.filter((f) => f.endsWith('.sql'))
		.sort())
		hash.update(file).update(readFileSync(join(MIGRATIONS_FOLDER, file)))
	return hash.digest('hex').slice(0, 12)
}

/** Template name changes whenever a migration does, so a stale template is never cloned. */
const templateName = () => `sb_template_${migrationsDigest()}`

// Every test process serialises template creation and cloning on this lock: CREATE DATABASE …
// TEMPLATE fails while anyone else is connected to the template.
const LOCK_KEY = 0x5b_7e57

async function withAdmin<T>(fn: (sql: postgres.Sql) => Promise<T>): Promise<T> {
	const sql = postgres(PG_ADMIN_URL, { max: 1, onnotice: () => {} })
	try {
		return await fn(sql)
	} finally {
		await sql.end({ timeout: 5 })
	}
}

let templateReady: Promise<string> | undefined

function ensureTemplate(): Promise<string> {
	templateReady ??= withAdmin(async (sql) => {
		const name = templateName()
		await sql`select pg_advisory_lock(${LOCK_KEY})`
		try {
			const [exists] = await sql`select 1 from pg_database where datname = ${name}`
			if (!exists) {
				await sql.unsafe(`create database "${name}"`)
				try {
					await migratePostgresUrl(urlFor(name))
				} catch (err) {
					await sql.unsafe(`drop database if exists "${name}" with (force)`)
					throw err
				}
			}
			await dropStale(sql)
		} finally {
			await sql`select pg_advisory_unlock(${LOCK_KEY})`
		}
		return name
	})
	return templateReady
}

/** Databases left by runs that crashed before their cleanup. */
async function dropStale(sql: postgres.Sql) {
	const rows = await sql<{ datname: string }[]>`select datname from pg_database where datname like 'sb_test_%'`
	for (const { datname } of rows) {
		const createdAt = Number(datname.split('_')[2])
		if (Number.isFinite(createdAt) && Date.now() - createdAt > STALE_AFTER_MS) await sql.unsafe(`drop database if exists "${datname}" with (force)`)
	}
}

export interface TestDatabase {
	name: string
	url: string
	drop(): Promise<void>
}

/** A fresh, migrated database of its own (a clone of the migrated template). */
export async function createTestDatabase(): Promise<TestDatabase> {
	const template = await ensureTemplate()
	const name = `sb_test_${Date.now()}_${Math.random().toString(36).slice(2, 10)}`
	await withAdmin(async (sql) => {
		await sql`select pg_advisory_lock(${LOCK_KEY})`
		try {
			await sql.unsafe(`create database "${name}" template "${template}"`)
		} finally {
			await sql`select pg_advisory_unlock(${LOCK_KEY})`
		}
	})
	return {
		name,
		url: urlFor(name),
		drop: () => withAdmin((sql) => sql.unsafe(`drop database if exists "${name}" with (force)`).then(() => {})),
	}
}

export interface OpenTestDatabase extends TestDatabase {
	/** A postgres.js pool on the database. */
	database: Database
	/** Ends the pool, then drops the database. */
	close(): Promise<void>
}

/** `createTestDatabase()` plus a pool on it, for tests that use the database without the app. */
export async function openTestDatabase(max = 4): Promise<OpenTestDatabase> {
	const testDb = await createTestDatabase()
	const database = openPostgres({ url: testDb.url, max })
	return {
		...testDb,
		database,
		async close() {
			await database.close()
			await testDb.drop()
		},
	}
}
