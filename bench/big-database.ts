import postgres from 'postgres'
import { migratePostgresUrl } from '../src/db/migrate'
import { PG_ADMIN_URL } from '../test/helpers/database'

/**
 * The big tables' database: BENCH_BIG_ROWS rows in session_messages over 1,000 sessions of 100
 * tenants, with 200 chats and 200 contacts a session. Filling it takes minutes, so it is kept
 * between runs (`bench_big`) and filled again only when the row count asked for changes; the
 * migrations run on it every time, so a schema change reaches it in place. Drop it when done:
 * `dropdb bench_big`.
 */
export const BIG_ROWS = Number(process.env.BENCH_BIG_ROWS ?? 10_000_000)
export const BIG_SESSIONS = 1_000
const TENANTS = 100
const CHATS = 200
const CONTACTS = 200
/** Sessions filled per statement: a progress line every few hundred thousand rows. */
const CHUNK = 50
const NAME = 'bench_big'

export const bigDatabaseUrl = () => {
	const url = new URL(PG_ADMIN_URL)
	url.pathname = `/${NAME}`
	return url.toString()
}

export async function ensureBigDatabase(log: (line: string) => void = console.error): Promise<string> {
	const admin = postgres(PG_ADMIN_URL, { max: 1, onnotice: () => {} })
	try {
		const [exists] = await admin`select 1 from pg_database where datname = ${NAME}`
		if (!exists) await admin.unsafe(`create database ${NAME}`)
	} finally {
		await admin.end({ timeout: 5 })
	}
	const url = bigDatabaseUrl()
	await migratePostgresUrl(url)
	const sql = postgres(url, { max: 1, onnotice: () => {} })
	try {
		await sql`create table if not exists bench_fill (rows bigint not null)`
		const [filled] = await sql<{ rows: string }[]>`select rows from bench_fill`
		if (filled && Number(filled.rows) === BIG_ROWS) return url
		log(`filling ${NAME} with ${BIG_ROWS.toLocaleString('en-US')} messages …`)
		const started = performance.now()
		await sql`truncate tenants, bench_fill cascade`
		await fill(sql, log)
		await sql`insert into bench_fill (rows) values (${BIG_ROWS})`
		log(`filled in ${((performance.now() - started) / 1000).toFixed(0)} s`)
		return url
	} finally {
		await sql.end({ timeout: 5 })
	}
}

/**
 * Fills with the indexes in place, as production tables grow: rows in session order, the chats of a
 * session interleaved and message ids random, so every index takes its inserts spread over its range.
 */
async function fill(sql: postgres.Sql, log: (line: string) => void): Promise<void> {
	const perSession = Math.round(BIG_ROWS / BIG_SESSIONS)
	await sql`insert into tenants (id, name) select gen_random_uuid(), 'big tenant ' || t from generate_series(1, ${TENANTS}) t`
	await sql`insert into sessions (id, tenant_id, name, status, desired_state, jid)
		select gen_random_uuid(), t.id, 'big session ' || n, 'stopped', 'stopped', (4916000000000 + n) || '@s.whatsapp.net'
		from (select id, row_number() over (order by id) as r from tenants) t, generate_series(1, ${BIG_SESSIONS / TENANTS}) k,
			lateral (select (t.r - 1) * ${BIG_SESSIONS / TENANTS} + k as n) x`
	const ids = (await sql<{ id: string }[]>`select id from sessions order by id`).map((r) => r.id)
	for (let i = 0; i < ids.length; i += CHUNK) {
		const chunk = ids.slice(i, i + CHUNK)
		await sql`insert into session_chats (session_id, jid, name, unread_count, last_message_at)
			select s, (4917000000000 + c) || '@s.whatsapp.net', 'Chat ' || c, c % 3, timestamptz '2026-06-01' - c * interval '1 minute'
			from unnest(${chunk}::uuid[]) s, generate_series(1, ${CHATS}) c`
		await sql`insert into session_contacts (session_id, jid, name, notify)
			select s, (4917000000000 + c) || '@s.whatsapp.net', case when c % 4 = 0 then null else 'Contact ' || c end, 'push ' || c
			from unnest(${chunk}::uuid[]) s, generate_series(1, ${CONTACTS}) c`
		await sql`insert into session_messages (session_id, chat_jid, message_id, from_me, sender_jid, push_name, timestamp, seq, type, kind, text, status, content)
			select s, (4917000000000 + g % ${CHATS} + 1) || '@s.whatsapp.net', '3EB0' || upper(substr(md5(s::text || g), 1, 18)), g % 3 = 0,
				case when g % 3 = 0 then null else (4917000000000 + g % ${CHATS} + 1) || '@s.whatsapp.net' end, 'Contact',
				timestamptz '2026-06-01' - (${perSession} - g) * interval '37 seconds', g, 'extendedTextMessage', 'text',
				'history message ' || g || ': some words to make the row look like a real one', 3,
				jsonb_build_object('extendedTextMessage', jsonb_build_object('text', 'history message ' || g || ': some words to make the row look like a real one',
					'contextInfo', jsonb_build_object('expiration', 0)))
			from unnest(${chunk}::uuid[]) s, generate_series(1, ${perSession}) g`
		log(`  ${((i + chunk.length) * perSession).toLocaleString('en-US')} messages`)
	}
	// What autovacuum does after a bulk load, done now so that the first run sees settled statistics.
	await sql`vacuum analyze session_messages, session_chats, session_contacts, sessions`
}

if (import.meta.main) await ensureBigDatabase()
