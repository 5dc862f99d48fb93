import postgres from 'postgres'
import { withTimeout } from '../src/lib/timeout'
import { domainEvent } from '../src/core/catalogue'
import { createSession } from '../test/events/fixtures'
import { createTestDatabase } from '../test/helpers/database'
import { BIG_ROWS, bigDatabaseUrl, ensureBigDatabase } from './big-database'
import { consumeHistory, type EventRig, openEventRig, publishHistory } from './event-rig'
import { alternatingRates, LIST_ROUTES, type ListApi, type ListRoute, startListApi } from './list-api'
import { requireWrk } from './load'
import type { BenchResult } from './run'

const MESSAGES = Number(process.env.BENCH_MESSAGES ?? 100_000)
const INGEST_ROUNDS = 3
const DELETE_ROWS = Number(process.env.BENCH_DELETE_ROWS ?? 1_000_000)
/** Other sessions' writes during the delete: one message every WRITE_EVERY_MS, each to one of WRITERS sessions. */
const WRITERS = 100
const WRITE_EVERY_MS = 20
const QUIET_SECONDS = 10
const WRITE_CHAT = '4918000000001@s.whatsapp.net'
/** Which measurements to take: `lists`, `ingest`, `delete` (all by default). */
const PARTS = new Set((process.env.BENCH_BIG_PARTS ?? 'lists,ingest,delete').split(','))

const big = (n: number) => (n >= 1e6 ? `${n / 1e6}M` : `${n / 1e3}k`)
const median = (xs: number[]) => xs.sort((a, b) => a - b)[Math.floor(xs.length / 2)]!
const p99 = (xs: number[]) => xs.sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor(xs.length * 0.99))]!

/**
 * The same work on a session_messages of BENCH_BIG_ROWS rows over 1,000 sessions (bench_big, see
 * big-database.ts) and on a fresh database, in the same run: the list routes under wrk, history
 * ingestion through the consumer, and deleting a session of BENCH_DELETE_ROWS messages through the
 * API while other sessions keep writing.
 */
export default async function bigTablesBench(): Promise<BenchResult[]> {
	requireWrk()
	const bigUrl = await ensureBigDatabase()
	const freshDb = await createTestDatabase()
	const bigRig = await openEventRig(bigUrl)
	const freshRig = await openEventRig(freshDb.url)
	const bigApi = await startListApi(bigUrl, bigRig)
	const freshApi = await startListApi(freshDb.url)
	const ingested: string[] = []
	try {
		const table = `${big(BIG_ROWS)} rows`
		const results: BenchResult[] = []
		for (const [route, name] of PARTS.has('lists') ? (Object.entries(LIST_ROUTES) as [ListRoute, string][]) : []) {
			const [value, baseline] = await alternatingRates([
				{ url: bigApi.url + bigApi.routes[route], headers: bigApi.headers },
				{ url: freshApi.url + freshApi.routes[route], headers: freshApi.headers },
			])
			results.push({ name: `${name}, ${table}`, value: value!, unit: 'req/s', baseline, baselineName: 'empty table', higherIsBetter: true })
		}

		const rates: [number[], number[]] = [[], []]
		for (let round = 0; round < (PARTS.has('ingest') ? INGEST_ROUNDS : 0); round++)
			for (const [i, rig] of [bigRig, freshRig].entries()) {
				const meta = await createSession(rig.database.db, `ingested ${round}`)
				if (rig === bigRig) ingested.push(meta.sessionId)
				await publishHistory(rig, meta, MESSAGES)
				rates[i]!.push(MESSAGES / (await consumeHistory(rig, meta.sessionId, MESSAGES)))
			}
		if (PARTS.has('ingest'))
			results.push({
				name: `consumer: history sync, ${big(MESSAGES)} msgs, ${table}`,
				value: median(rates[0]),
				unit: 'msgs/s',
				baseline: median(rates[1]),
				baselineName: 'empty table',
				higherIsBetter: true,
			})

		if (PARTS.has('delete')) results.push(...(await deleteWhileWriting(bigRig, bigApi)))
		return results
	} finally {
		// What this run added to bench_big: its tenant's sessions (the list session, the deleted one) and the ingested ones.
		await bigApi.raw`delete from sessions where id = any(${ingested}::uuid[])`
		await bigApi.raw`delete from tenants where id = ${bigApi.tenantId}`
		await bigApi.close()
		await freshApi.close()
		await bigRig.close()
		await freshRig.close()
		// DROP DATABASE waits for every backend of the cluster to take a signal; one stuck elsewhere
		// (another run's COPY, say) must not hold these figures back. A database left behind goes
		// with the test helpers' clean-up of stale ones.
		await withTimeout(freshDb.drop(), 30_000, 'dropping the fresh database').catch((err) => console.error(String(err)))
	}
}

/**
 * DELETE /sessions/:id of a session holding DELETE_ROWS messages, with the consumer writing other
 * sessions' messages all along: their latency (stream append → row visible) and the longest open
 * transaction while the deleted session's rows go, beside the same figures for as long before it.
 */
async function deleteWhileWriting(rig: EventRig, api: ListApi): Promise<BenchResult[]> {
	const { raw } = api
	const created = await fetch(`${api.url}/sessions`, {
		method: 'POST',
		headers: { ...api.headers, 'content-type': 'application/json' },
		body: '{"name":"doomed"}',
	})
	const doomed = ((await created.json()) as { id: string }).id
	await raw`insert into session_chats (session_id, jid, last_message_at)
		select ${doomed}, (4919000000000 + c) || '@s.whatsapp.net', now() from generate_series(1, 1000) c`
	await raw`insert into session_messages (session_id, chat_jid, message_id, from_me, timestamp, seq, type, kind, text, status, content)
		select ${doomed}, (4919000000000 + g % 1000 + 1) || '@s.whatsapp.net', '3EB0' || upper(substr(md5(g::text), 1, 18)), g % 3 = 0,
			now() - g * interval '1 second', g, 'extendedTextMessage', 'text', 'doomed message ' || g || ' with some words in it', 3,
			jsonb_build_object('extendedTextMessage', jsonb_build_object('text', 'doomed message ' || g || ' with some words in it'))
		from generate_series(1, ${DELETE_ROWS}) g`
	const writers = await raw<
		{ id: string; tenant_id: string }[]
	>`select id, tenant_id from sessions where name like 'big session %' order by id limit ${WRITERS}`
	const probe = postgres(bigDatabaseUrl(), { max: 2, onnotice: () => {} })
	const consumer = await rig.startConsumer()

	// Writes: a steady stream of one-message upserts; each is timed from its append to the poll that sees its row.
	const sent = new Map<string, { at: number; sessionId: string }>()
	const seen: { at: number; ms: number }[] = []
	let writing = true
	let n = 0
	const writer = (async () => {
		while (writing) {
			const s = writers[n % writers.length]!
			const id = `3EBW${(n++).toString(16).toUpperCase().padStart(16, '0')}`
			const e = domainEvent(
				'session.messages.upsert',
				{ tenantId: s.tenant_id, sessionId: s.id },
				{
					type: 'notify',
					messages: [
						{
							key: { remoteJid: WRITE_CHAT, fromMe: false, id },
							timestamp: Math.floor(Date.now() / 1000),
							type: 'conversation',
							text: 'hi',
							content: { conversation: 'hi' },
						},
					],
				},
			)
			const at = performance.now()
			await rig.bus.publish([e])
			sent.set(id, { at, sessionId: s.id })
			await Bun.sleep(WRITE_EVERY_MS)
		}
	})()
	const poller = (async () => {
		while (writing || sent.size) {
			const ids = [...sent.keys()]
			if (ids.length) {
				const rows = await probe<{ message_id: string }[]>`select message_id from session_messages
					where session_id = any(${[...new Set([...sent.values()].map((v) => v.sessionId))]}::uuid[]) and chat_jid = ${WRITE_CHAT} and message_id = any(${ids})`
				const now = performance.now()
				for (const { message_id } of rows) {
					const w = sent.get(message_id)
					if (!w) continue
					seen.push({ at: w.at, ms: now - w.at })
					sent.delete(message_id)
				}
			}
			await Bun.sleep(10)
		}
	})()
	// The longest transaction open on the database (client backends, this probe aside), sampled.
	let sampling = true
	const longest: { at: number; s: number }[] = []
	const sampler = (async () => {
		while (sampling) {
			const [row] = await probe<{ s: number }[]>`select coalesce(max(extract(epoch from clock_timestamp() - xact_start)), 0)::float8 as s
				from pg_stat_activity where datname = current_database() and backend_type = 'client backend' and xact_start is not null and pid <> pg_backend_pid()`
			longest.push({ at: performance.now(), s: row!.s })
			await Bun.sleep(100)
		}
	})()

	try {
		await Bun.sleep(2_000) // warm-up
		const quietFrom = performance.now()
		await Bun.sleep(QUIET_SECONDS * 1000)
		const deleteFrom = performance.now()
		const res = await fetch(`${api.url}/sessions/${doomed}`, { method: 'DELETE', headers: api.headers })
		const answeredMs = performance.now() - deleteFrom
		if (res.status !== 202) throw new Error(`DELETE answered ${res.status}`)
		const deadline = deleteFrom + 600_000
		while ((await probe`select 1 from session_messages where session_id = ${doomed} limit 1`).length) {
			if (performance.now() > deadline) throw new Error('the deleted session still has messages after 10 minutes')
			await Bun.sleep(250)
		}
		const goneAt = performance.now()
		writing = false
		await writer
		await poller
		sampling = false
		await sampler

		const during = (from: number, to: number) => seen.filter((w) => w.at >= from && w.at < to).map((w) => w.ms)
		const longestIn = (from: number, to: number) => Math.max(0, ...longest.filter((l) => l.at >= from && l.at < to).map((l) => l.s))
		const quiet = during(quietFrom, deleteFrom)
		const busy = during(deleteFrom, goneAt)
		const rows = big(DELETE_ROWS)
		const spread = (xs: number[]) => `p50 ${median(xs).toFixed(0)} ms, max ${Math.max(...xs).toFixed(0)} ms`
		console.error(`  other sessions' writes: ${spread(busy)} while deleting; ${spread(quiet)} before`)
		return [
			{ name: `delete a session of ${rows} msgs: API answer`, value: answeredMs, unit: 'ms', higherIsBetter: false },
			{ name: `delete a session of ${rows} msgs: until its rows are gone`, value: (goneAt - deleteFrom) / 1000, unit: 's', higherIsBetter: false },
			{
				name: `other sessions' writes p99 while deleting ${rows} msgs (${busy.length} writes)`,
				value: p99(busy),
				unit: 'ms',
				baseline: p99(quiet),
				baselineName: `no delete, ${quiet.length} writes`,
				higherIsBetter: false,
			},
			{
				name: `longest transaction while deleting ${rows} msgs`,
				value: longestIn(deleteFrom, goneAt),
				unit: 's',
				baseline: longestIn(quietFrom, deleteFrom),
				baselineName: 'no delete',
				higherIsBetter: false,
			},
		]
	} finally {
		writing = false
		sampling = false
		await Promise.allSettled([writer, poller, sampler])
		await consumer.stop()
		await probe.end({ timeout: 5 })
	}
}
