import { afterAll, beforeAll, describe, expect, it } from 'bun:test'
import { sql } from 'drizzle-orm'
import postgres from 'postgres'
import { loadConfig } from '../../src/config'
import { type Database, openPostgres } from '../../src/db/client'
import { isDatabaseUnreachable } from '../../src/db/errors'
import { createLogger } from '../../src/logger'
import { type RunningServer, startServer } from '../../src/server'
import { createVerifiedUser, type LoggedInUser } from '../helpers/accounts'
import type { TestApp } from '../helpers/app'
import { createTestDatabase, PG_ADMIN_URL, type TestDatabase } from '../helpers/database'
import { databaseProxy, viaProxy } from '../helpers/database-proxy'
import { createTestRedisPrefix, REDIS_TEST_URL } from '../helpers/redis'
import { until } from '../helpers/until'

/**
 * The API while its database is away (a restart, a network cut) or frozen (a paused host: connections
 * open, nothing answers): 503 with Retry-After, not 500 and not silence; and back once it returns.
 */

let db: TestDatabase
let proxy: ReturnType<typeof databaseProxy>
let server: RunningServer
let user: LoggedInUser
let url: string
const redis = createTestRedisPrefix()

beforeAll(async () => {
	db = await createTestDatabase()
	proxy = databaseProxy(new URL(PG_ADMIN_URL))
	const config = loadConfig({
		NODE_ENV: 'test',
		PORT: '0',
		HOST: '127.0.0.1',
		DATABASE_URL: viaProxy(db.url, proxy.port),
		REDIS_URL: REDIS_TEST_URL,
		REDIS_PREFIX: redis.prefix,
		ROLES: 'api',
		LOG_LEVEL: process.env.TEST_LOG_LEVEL ?? 'silent',
		TRUST_PROXY_HOPS: '1',
		// Room for a sign-up's password hashing on a loaded host; the frozen test waits this long.
		REQUEST_TIMEOUT_MS: '5000',
		QUERY_TIMEOUT_MS: '1000',
		// The webhook the shaken test creates points at this machine.
		WEBHOOK_ALLOW_PRIVATE_TARGETS: 'true',
		// The shaken test creates webhooks and makes requests as one user for as long as it runs.
		MAX_WEBHOOKS_PER_TENANT: '1000000',
		USER_RATE_LIMIT: '1000000',
	})
	server = await startServer(config, createLogger(config))
	url = `http://127.0.0.1:${server.port}`
	user = await createVerifiedUser({ url, database: db } as TestApp)
})
afterAll(async () => {
	proxy?.restore()
	await server?.stop()
	proxy?.stop()
	await db?.drop()
	await redis.cleanup()
})

describe('the API while its database is away', () => {
	it('answers 503 DATABASE_UNAVAILABLE with Retry-After, and serves again once the database is back', async () => {
		// A request on a pooled connection the cut has not reached yet may still be answered, or wait
		// for it: each try is bounded (past REQUEST_TIMEOUT_MS, so the server answers every one), and
		// the first answer after the cut tells.
		const sessions = () => fetch(`${url}/sessions`, { headers: user.headers, signal: AbortSignal.timeout(10_000) }).catch(() => null)
		expect((await sessions())?.status).toBe(200)
		const admin = postgres(PG_ADMIN_URL, { max: 1, onnotice: () => {} })
		await proxy.cut(async () => {
			await admin`select pg_terminate_backend(pid) from pg_stat_activity where datname = ${db.name} and pid <> pg_backend_pid()`
		})
		await admin.end()
		const away = await until(async () => {
			const res = await sessions()
			return res && res.status !== 200 && res
		}, 'an answer while the database is away')
		expect(away.status).toBe(503)
		expect(away.headers.get('retry-after')).toBe('5')
		expect(((await away.json()) as { error: { code: string } }).error.code).toBe('DATABASE_UNAVAILABLE')
		proxy.restore()
		await until(async () => (await sessions())?.status === 200, 'served again')
	})

	it('answers 503 too while the database refuses new connections (ALLOW_CONNECTIONS false), not 500', async () => {
		const sessions = () => fetch(`${url}/sessions`, { headers: user.headers, signal: AbortSignal.timeout(10_000) }).catch(() => null)
		await until(async () => (await sessions())?.status === 200, 'served')
		const admin = postgres(PG_ADMIN_URL, { max: 1, onnotice: () => {} })
		try {
			await admin.unsafe(`alter database "${db.name}" allow_connections false`)
			await admin`select pg_terminate_backend(pid) from pg_stat_activity where datname = ${db.name} and pid <> pg_backend_pid()`
			const away = await until(async () => {
				const res = await sessions()
				return res && res.status !== 200 && res
			}, 'an answer while the database refuses connections')
			expect(away.status).toBe(503)
			// The cut connections answer first (57P01); the requests after them open new ones, which are refused.
			const later: (number | undefined)[] = []
			for (let i = 0; i < 5; i++) later.push((await sessions())?.status)
			expect(later).toEqual([503, 503, 503, 503, 503])
		} finally {
			await admin.unsafe(`alter database "${db.name}" allow_connections true`)
			await admin.end()
		}
		await until(async () => (await sessions())?.status === 200, 'served again')
	})

	it('answers 503 REQUEST_TIMEOUT within REQUEST_TIMEOUT_MS while the database is frozen, and serves again once it thaws', async () => {
		const sessions = () => fetch(`${url}/sessions`, { headers: user.headers, signal: AbortSignal.timeout(20_000) }).catch(() => null)
		await until(async () => (await sessions())?.status === 200, 'served')
		proxy.freeze()
		try {
			const started = performance.now()
			const frozen = await sessions()
			const waited = performance.now() - started
			expect(frozen?.status).toBe(503)
			expect(frozen?.headers.get('retry-after')).toBe('5')
			const body = (await frozen!.json()) as { error: { code: string; message: string } }
			expect(body.error.code).toBe('REQUEST_TIMEOUT')
			expect(body.error.message).toContain('within 5 s')
			// Answered at the deadline: not before it, and not when Bun gives the connection up.
			expect(waited).toBeGreaterThanOrEqual(4_900)
			expect(waited).toBeLessThan(15_000)
		} finally {
			proxy.restore()
		}
		await until(async () => (await sessions())?.status === 200, 'served again')
	})

	it('answers each request as it would, or 503, while its connections are reset at random: never a 500, never a 404 for what exists', async () => {
		const headers = { ...user.headers, 'content-type': 'application/json' }
		const call = (method: string, path: string, body?: unknown) =>
			fetch(`${url}${path}`, { method, headers, body: body === undefined ? undefined : JSON.stringify(body), signal: AbortSignal.timeout(15_000) })
		const session = (await (await call('POST', '/sessions', {})).json()) as { id: string }
		const hook = { url: 'http://127.0.0.1:9/hook' }
		const webhook = (await (await call('POST', '/webhooks', hook)).json()) as { id: string }
		const requests: [method: string, path: string, body: unknown, expected: number][] = [
			['GET', '/users/me', undefined, 200],
			['GET', '/sessions', undefined, 200],
			['GET', `/sessions/${session.id}`, undefined, 200],
			['GET', `/webhooks/${webhook.id}`, undefined, 200],
			['GET', '/api-keys', undefined, 200],
			['POST', '/webhooks', hook, 201],
		]
		const seen = new Map<number | string, number>()
		const wrong: string[] = []
		proxy.shake(true)
		try {
			const end = Date.now() + 5_000
			await Promise.all(
				Array.from({ length: 8 }, async (_, client) => {
					for (let i = client; Date.now() < end; i++) {
						const [method, path, body, expected] = requests[i % requests.length]!
						const res = await call(method, path, body).catch(() => null)
						const status = res?.status ?? 'no answer'
						seen.set(status, (seen.get(status) ?? 0) + 1)
						const text = (await res?.text()) ?? ''
						if (status !== expected && status !== 503) wrong.push(`${method} ${path} → ${status} ${text.slice(0, 200)}`)
					}
				}),
			)
		} finally {
			proxy.shake(false)
		}
		expect(wrong).toEqual([])
		// The resets did reach requests, and requests got through between them.
		expect(seen.get(503)).toBeGreaterThan(0)
		expect((seen.get(200) ?? 0) + (seen.get(201) ?? 0)).toBeGreaterThan(0)
		for (const [method, path, body, expected] of requests)
			await until(async () => (await call(method, path, body)).status === expected, `${method} ${path} served again`)
	})
})

/** The rows of a query that selects `value` on `database`. */
const answer = async (database: Database, value: string) => [...((await database.db.execute(sql`select ${value}::text as v`)) as Iterable<unknown>)]

/** What a query came to: its rows, its error, or 'no answer' when it hangs (the fault these tests look for). */
const outcome = (query: Promise<unknown>) => Promise.race([query.catch((e: unknown) => e), Bun.sleep(5_000).then(() => 'no answer')])

describe('the database client when a connection is lost', () => {
	it('fails the transaction and what it asks after the loss with a connection error, and serves on', async () => {
		const database = openPostgres({ url: db.url, max: 1 })
		try {
			let later: Promise<unknown> | undefined
			const transaction = database.db.transaction(async (tx) => {
				// The connection ends under the transaction (a restart, a network cut) ...
				await tx.execute(sql`select pg_terminate_backend(pg_backend_pid())`).catch(() => {})
				// ... and its code, not knowing yet, asks on: the query must fail, not be written to a
				// connection that is gone (which, in postgres.js unpatched, throws outside any caller and
				// ends the process).
				later = tx.execute(sql`select 1`)
				await later
			})
			const failed = await transaction.then(
				() => null,
				(e: unknown) => e,
			)
			expect(isDatabaseUnreachable(failed)).toBe(true)
			await until(async () => later !== undefined, 'the query after the loss')
			const laterFailed = await later!.then(
				() => null,
				(e: unknown) => e,
			)
			expect(isDatabaseUnreachable(laterFailed)).toBe(true)
			expect(await answer(database, 'after')).toEqual([{ v: 'after' }])
		} finally {
			await database.close()
		}
	})

	it('fails the first query of a connection reset while it reads the server’s types, and serves on', async () => {
		const database = openPostgres({ url: viaProxy(db.url, proxy.port), max: 1 })
		try {
			// A new connection first asks the server for its array types; the reset comes then.
			proxy.resetWhenSent('pg_catalog.pg_type')
			const failed = await database.db.execute(sql`select 1`).then(
				() => null,
				(e: unknown) => e,
			)
			expect(isDatabaseUnreachable(failed)).toBe(true)
			proxy.resetWhenSent(null)
			expect(await answer(database, 'after')).toEqual([{ v: 'after' }])
		} finally {
			proxy.resetWhenSent(null)
			await database.close()
		}
	})

	it('fails a query asked between a connection’s reset and its close, and the pool goes on answering each query its own rows', async () => {
		const database = openPostgres({ url: viaProxy(db.url, proxy.port), max: 1 })
		// postgres.js itself: the timing between the failure and the next query is its own, not Drizzle's.
		const client = database.sql!
		const select = (value: string) => client`select ${value}::text as v`.then((rows) => [...rows])
		try {
			expect(await select('before')).toEqual([{ v: 'before' }])
			proxy.resetWhenSent('reset here')
			// The failure reaches the caller before the socket has closed, and the caller asks again at
			// once: the only pooled connection takes the query while it is on its way out.
			let asked: Promise<unknown> | undefined
			const first = select('reset here').catch((e: unknown) => {
				asked = select('asked at once')
				throw e
			})
			expect(isDatabaseUnreachable(await outcome(first))).toBe(true)
			proxy.resetWhenSent(null)
			const second = await outcome(asked!)
			expect(isDatabaseUnreachable(second) || Bun.deepEquals(second, [{ v: 'asked at once' }])).toBe(true)
			for (const value of ['one', 'two', 'three']) expect(await outcome(select(value))).toEqual([{ v: value }])
		} finally {
			proxy.resetWhenSent(null)
			await database.close()
		}
	})
})
