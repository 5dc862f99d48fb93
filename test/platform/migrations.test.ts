import { afterAll, beforeAll, describe, expect, it } from 'bun:test'
import { sql } from 'drizzle-orm'
import { openPglite, openPostgres, type Database } from '../../src/db/client'
import { schema } from '../../src/db/client'
import { createTestDatabase, type TestDatabase } from '../helpers/database'

const EXPECTED_TABLES = [
	'api_keys',
	'media',
	'media_blobs',
	'outbox',
	'profile_pictures',
	'refresh_tokens',
	'send_requests',
	'session_auth',
	'session_auth_keys',
	'session_chats',
	'session_contacts',
	'session_group_participants',
	'session_groups',
	'session_lid_mappings',
	'session_message_reactions',
	'session_messages',
	'session_poll_votes',
	'sessions',
	'tenants',
	'user_tokens',
	'users',
	'webhook_deliveries',
	'webhook_endpoints',
	'webhook_previous_secrets',
]

async function publicTables(database: Database): Promise<string[]> {
	const rows = await database.db
		.select({ name: sql<string>`table_name` })
		.from(sql`information_schema.tables`)
		.where(sql`table_schema = 'public' and table_type = 'BASE TABLE'`)
		.orderBy(sql`1`)
	return rows.map((r) => r.name)
}

/** One round trip through the schema: a tenant row written with Drizzle and read back. */
async function roundTrip(database: Database) {
	const [tenant] = await database.db.insert(schema.tenants).values({ name: 'Acme ü 🚀' }).returning()
	const [back] = await database.db.select().from(schema.tenants)
	expect(back).toEqual(tenant!)
}

describe('migrations on PostgreSQL', () => {
	let testDb: TestDatabase
	let database: Database
	beforeAll(async () => {
		testDb = await createTestDatabase()
		database = openPostgres({ url: testDb.url, max: 2 })
	})
	afterAll(async () => {
		await database.close()
		await testDb.drop()
	})

	it('creates every table of the schema', async () => {
		expect(await publicTables(database)).toEqual(EXPECTED_TABLES)
	})

	it('is a no-op when applied again', async () => {
		await database.migrate()
		expect(await publicTables(database)).toEqual(EXPECTED_TABLES)
	})

	it('stores and reads rows through Drizzle', () => roundTrip(database))
})

describe('migrations on PGlite (embedded mode)', () => {
	let database: Database
	beforeAll(async () => {
		database = await openPglite()
		await database.migrate()
	})
	afterAll(() => database.close())

	it('creates the same tables from the same migrations', async () => {
		expect(await publicTables(database)).toEqual(EXPECTED_TABLES)
	})

	it('is a no-op when applied again', async () => {
		await database.migrate()
		expect(await publicTables(database)).toEqual(EXPECTED_TABLES)
	})

	it('stores and reads rows through Drizzle', () => roundTrip(database))
})

describe('the migrations themselves', () => {
	it('never drop or rename a table or column: the release before goes on running beside them through a rolling upgrade', async () => {
		const folder = new URL('../../drizzle/', import.meta.url).pathname
		const refused = /\b(DROP\s+TABLE|DROP\s+COLUMN|RENAME\b)/i
		const found: string[] = []
		for (const name of new Bun.Glob('*.sql').scanSync(folder))
			for (const statement of (await Bun.file(folder + name).text()).split('--> statement-breakpoint'))
				if (refused.test(statement)) found.push(`${name}: ${statement.trim()}`)
		expect(found).toEqual([])
	})
})
