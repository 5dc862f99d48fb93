import postgres from 'postgres'
import pino from 'pino'
import type { Bus } from '../src/bus/bus'
import { createRelay } from '../src/bus/relay'
import { loadConfig } from '../src/config'
import { openPostgres } from '../src/db/client'
import type { RedisClient } from '../src/lib/redis-client'
import { composeApi } from '../src/server'
import { createVerifiedUser } from '../test/helpers/accounts'
import type { TestApp } from '../test/helpers/app'
import { wrk } from './load'

/**
 * The list routes' side of the list benchmarks: the real API on a database, a tenant with one
 * session filled like a busy phone (2,000 chats, 20,000 messages in one chat, 2,000 contacts), and
 * wrk rounds that alternate between servers so that every side sees the same machine.
 */
export const CHAT = '15550700001@s.whatsapp.net'

const SECONDS = Number(process.env.BENCH_SECONDS ?? 2)
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 5)
const CONCURRENCY = Number(process.env.BENCH_CONCURRENCY ?? 32)

export const LIST_ROUTES = {
	chats: 'GET /chats (50 a page)',
	messages: 'GET /chats/:jid/messages (50 a page)',
	contacts: 'GET /contacts (50 a page)',
} as const
export type ListRoute = keyof typeof LIST_ROUTES

export interface ListApi {
	/** `http://127.0.0.1:<port>` */
	url: string
	/** An access token and a client address of its own. */
	headers: Record<string, string>
	tenantId: string
	sessionId: string
	/** The list routes with their query, 50 items a page. */
	routes: Record<ListRoute, string>
	/** A raw pool on the same database. */
	raw: postgres.Sql
	close(): Promise<void>
}

/**
 * The API (composeApi, as the api role builds it) on `databaseUrl`, with a verified tenant whose
 * session is filled. With `events` it publishes its outbox to that bus through a relay, as the api
 * role does; without, nothing is published.
 */
export async function startListApi(databaseUrl: string, events?: { redis: RedisClient; bus: Bus }): Promise<ListApi> {
	const config = loadConfig({
		NODE_ENV: 'test',
		DATABASE_URL: databaseUrl,
		LOG_LEVEL: 'warn',
		TRUST_PROXY_HOPS: '1',
		// The per-user limit is counted on every request (its cost is the path's) but never reached: the
		// benchmark makes tens of thousands of requests a minute with one user's token.
		USER_RATE_LIMIT: String(Number.MAX_SAFE_INTEGER),
		// The production defaults unless the environment tunes them.
		SESSION_PURGE_BATCH_ROWS: process.env.SESSION_PURGE_BATCH_ROWS,
		SESSION_PURGE_PAUSE_MS: process.env.SESSION_PURGE_PAUSE_MS,
	})
	const logger = pino({ level: 'warn' })
	const database = openPostgres({ url: databaseUrl, max: 10 })
	const relay = events ? createRelay({ database, bus: events.bus, logger }) : null
	relay?.start()
	const composed = composeApi(config, logger, { database, redis: events?.redis ?? null, bus: events?.bus ?? null, relay })
	const app = composed.app.listen({ port: 0, hostname: '127.0.0.1' })
	const url = `http://127.0.0.1:${app.server!.port}`
	const raw = postgres(databaseUrl, { max: 10, onnotice: () => {} })
	const close = async () => {
		await app.stop(true)
		await composed.close()
		await relay?.stop()
		await raw.end({ timeout: 5 })
		await database.close()
	}
	try {
		const user = await createVerifiedUser({ url, database: { url: databaseUrl } } as TestApp)
		const headers = { ...user.headers, 'x-forwarded-for': '10.1.1.1' }
		const session = (await (
			await fetch(`${url}/sessions`, { method: 'POST', headers: { ...headers, 'content-type': 'application/json' }, body: '{}' })
		).json()) as { id: string }
		const sid = session.id
		await fillListSession(raw, sid)
		return {
			url,
			headers,
			tenantId: user.user.tenantId,
			sessionId: sid,
			routes: {
				chats: `/chats?sessionId=${sid}`,
				messages: `/chats/${CHAT}/messages?sessionId=${sid}`,
				contacts: `/contacts?sessionId=${sid}`,
			},
			raw,
			close,
		}
	} catch (err) {
		await close()
		throw err
	}
}

/** Half the chats have no name of their own (as 1:1 chats mostly do): the list shows them by their contact's. */
async function fillListSession(raw: postgres.Sql, sid: string): Promise<void> {
	await raw`insert into session_chats (session_id, jid, name, unread_count, last_message_at)
		select ${sid}, (15550700000 + g) || '@s.whatsapp.net', case when g % 2 = 0 then 'Chat ' || g end, g % 3, now() - (g || ' minutes')::interval
		from generate_series(1, 2000) g`
	await raw`insert into session_messages (session_id, chat_jid, message_id, from_me, sender_jid, push_name, timestamp, type, kind, text, status, content)
		select ${sid}, ${CHAT}, '3EB0' || upper(md5(g::text)), g % 3 = 0, case when g % 3 = 0 then null else ${CHAT} end, 'Someone',
			now() - (g || ' seconds')::interval, 'conversation', 'text', 'Message number ' || g || ' with some words in it', 3,
			jsonb_build_object('conversation', 'Message number ' || g || ' with some words in it')
		from generate_series(1, 20000) g`
	// Every other chat has a newest message for the chat list's preview.
	await raw`insert into session_messages (session_id, chat_jid, message_id, from_me, sender_jid, timestamp, type, kind, text, status)
		select ${sid}, (15550700000 + g) || '@s.whatsapp.net', '3EB1' || upper(md5(g::text)), false, (15550700000 + g) || '@s.whatsapp.net',
			now() - (g || ' minutes')::interval, 'conversation', 'text', 'Last words of chat ' || g, 3
		from generate_series(2, 2000) g`
	await raw`insert into session_contacts (session_id, jid, name, notify)
		select ${sid}, (15550700000 + g) || '@s.whatsapp.net', case when g % 4 = 0 then null else 'Contact ' || g end, 'push ' || g from generate_series(1, 2000) g`
	await raw`analyze session_chats, session_messages, session_contacts`
}

export interface LoadTarget {
	url: string
	headers: Record<string, string>
}

const load = ({ url, headers }: LoadTarget) => wrk({ url, headers, connections: CONCURRENCY, seconds: SECONDS })
const median = (xs: number[]) => xs.sort((a, b) => a - b)[Math.floor(xs.length / 2)]!

/**
 * The median rate of each target over alternating short rounds, after one warm-up round each (JIT,
 * pools, prepared statements): on a small machine the load generator, the servers and Postgres
 * share the cores, and single runs swing by a third.
 */
export async function alternatingRates(targets: LoadTarget[]): Promise<number[]> {
	for (const t of targets) await load(t)
	const rates: number[][] = targets.map(() => [])
	for (let round = 0; round < ROUNDS; round++) for (const [i, t] of targets.entries()) rates[i]!.push((await load(t)).rate)
	return rates.map(median)
}
