import postgres from 'postgres'
import pino from 'pino'
import { composeApi } from '../src/server'
import { loadConfig } from '../src/config'
import { messageStatusName } from '../src/core/message-status'
import { openPostgres } from '../src/db/client'
import { createVerifiedUser } from '../test/helpers/accounts'
import type { TestApp } from '../test/helpers/app'
import { createTestDatabase } from '../test/helpers/database'
import { requireWrk, wrk } from './load'
import type { BenchResult } from './run'

const SECONDS = Number(process.env.BENCH_SECONDS ?? 2)
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 5)
const CONCURRENCY = Number(process.env.BENCH_CONCURRENCY ?? 32)
const CHAT = '15550700001@s.whatsapp.net'

const load = (url: string, headers: Record<string, string>) => wrk({ url, headers, connections: CONCURRENCY, seconds: SECONDS })

/**
 * The list routes under load (50 items a page, a valid access token, the tenant's session named),
 * against a bare `Bun.serve` handler that runs the same SQL through the same postgres.js pool size
 * and serialises the same items: what the framework, auth, validation and mapping cost on top of
 * the queries. The load comes from wrk in another process, the same for both.
 */
export default async function listsBench(): Promise<BenchResult[]> {
	requireWrk()
	const testDb = await createTestDatabase()
	const config = loadConfig({ NODE_ENV: 'test', DATABASE_URL: testDb.url, LOG_LEVEL: 'warn', TRUST_PROXY_HOPS: '1' })
	const database = openPostgres({ url: testDb.url, max: 10 })
	const composed = composeApi(config, pino({ level: 'warn' }), { database, redis: null, bus: null, relay: null })
	const app = composed.app.listen({ port: 0, hostname: '127.0.0.1' })
	const url = `http://127.0.0.1:${app.server!.port}`
	const raw = postgres(testDb.url, { max: 10, onnotice: () => {} })
	let bare: ReturnType<typeof Bun.serve> | undefined
	try {
		const user = await createVerifiedUser({ url, database: testDb } as TestApp)
		const headers = { ...user.headers, 'x-forwarded-for': '10.1.1.1' }
		const session = (await (
			await fetch(`${url}/sessions`, { method: 'POST', headers: { ...headers, 'content-type': 'application/json' }, body: '{}' })
		).json()) as { id: string }
		const sid = session.id
		const tenantId = user.user.tenantId
		await raw`insert into session_chats (session_id, jid, name, unread_count, last_message_at)
			select ${sid}, (15550700000 + g) || '@s.whatsapp.net', 'Chat ' || g, g % 3, now() - (g || ' minutes')::interval from generate_series(1, 2000) g`
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
		await raw`analyze`

		// The statements the routes run (resolveId, then the list; messages also resolve the chat).
		const ownSession = () => raw`select id from sessions where id = ${sid} and tenant_id = ${tenantId} and deleted_at is null`
		bare = Bun.serve({
			port: 0,
			hostname: '127.0.0.1',
			routes: {
				'/chats': async () => {
					await ownSession()
					const rows = await raw`select jid, pn_jid, lid_jid, name, unread_count, archived, last_message_at,
							(select json_build_object('id', x.message_id, 'fromMe', x.from_me, 'sender', x.sender_jid, 'kind', x.kind, 'text', case when x.revoked_at is null then x.text end,
								'timestamp', x.timestamp::text, 'status', x.status, 'revoked', x.revoked_at is not null)
							from ((select m.message_id, m.from_me, m.sender_jid, m.kind, m.text, m.timestamp, m.seq, m.status, m.revoked_at from session_messages m
									where m.session_id = c.session_id and m.chat_jid = c.jid and m.timestamp is not null
									order by m.timestamp desc nulls last, m.seq desc, m.message_id desc, m.from_me desc limit 1)
								union all (select m.message_id, m.from_me, m.sender_jid, m.kind, m.text, m.timestamp, m.seq, m.status, m.revoked_at from session_messages m
									where m.session_id = c.session_id and m.chat_jid = c.lid_jid and m.timestamp is not null
									order by m.timestamp desc nulls last, m.seq desc, m.message_id desc, m.from_me desc limit 1)) x
							order by x.timestamp desc, x.seq desc, x.message_id desc, x.from_me desc limit 1) as last_message
						from session_chats c
						where session_id = ${sid} and last_message_at is not null
							and (jid not like '%@lid' or not exists (select 1 from session_chats o where o.session_id = c.session_id and o.lid_jid = c.jid and o.jid <> c.jid))
						order by last_message_at desc nulls last, jid desc limit 51`
					const items = rows.slice(0, 50).map((r) => ({
						jid: r.jid,
						pnJid: r.pn_jid,
						lidJid: r.lid_jid,
						name: r.name,
						unreadCount: r.unread_count,
						archived: r.archived,
						lastMessageAt: (r.last_message_at as Date).toISOString(),
						lastMessage: r.last_message && {
							...r.last_message,
							timestamp: new Date(r.last_message.timestamp).toISOString(),
							status: messageStatusName(r.last_message.status),
						},
					}))
					return Response.json({ items, nextCursor: 'x' })
				},
				'/contacts': async () => {
					await ownSession()
					const rows =
						await raw`select jid, pn_jid, lid_jid, name, notify, verified_name, img_url, lower(coalesce(name, notify, verified_name)) as sort_key
						from session_contacts where session_id = ${sid} and lower(coalesce(name, notify, verified_name)) is not null
						order by lower(coalesce(name, notify, verified_name)), jid limit 51`
					const items = rows.slice(0, 50).map((c) => ({
						jid: c.jid,
						pnJid: c.pn_jid,
						lidJid: c.lid_jid,
						displayName: c.name ?? c.notify ?? c.verified_name,
						name: c.name,
						notify: c.notify,
						verifiedName: c.verified_name,
						imgUrl: c.img_url,
					}))
					return Response.json({ items, nextCursor: 'x' })
				},
				'/messages': async () => {
					await ownSession()
					await raw`select jid, pn_jid from session_chats where session_id = ${sid} and (
						jid = any(array(select ${CHAT}::text union all select pn from session_lid_mappings where session_id = ${sid} and lid = ${CHAT} union all select lid from session_lid_mappings where session_id = ${sid} and pn = ${CHAT}))
						or pn_jid = any(array(select ${CHAT}::text union all select pn from session_lid_mappings where session_id = ${sid} and lid = ${CHAT} union all select lid from session_lid_mappings where session_id = ${sid} and pn = ${CHAT}))
						or lid_jid = any(array(select ${CHAT}::text union all select pn from session_lid_mappings where session_id = ${sid} and lid = ${CHAT} union all select lid from session_lid_mappings where session_id = ${sid} and pn = ${CHAT}))) limit 8`
					const rows = await raw`select message_id, from_me, sender_jid, push_name, timestamp, seq, type, text, status, edited_at, revoked_at,
							kind, kind_data, reply_to,
							case when type in ('conversation', 'extendedTextMessage') then null else content end as content,
							case when media_id is not null then (select m.state from media m where m.id = media_id) end as media_state,
							(select json_agg(json_build_object('sender', r.sender, 'emoji', r.emoji, 'at', r.at) order by r.at) from session_message_reactions r
								where r.session_id = s.session_id and r.chat_jid = s.chat_jid and r.message_id = s.message_id and r.from_me = s.from_me and r.emoji <> '') as reactions,
							case when kind = 'poll' then (select json_agg(json_build_object('voter', v.voter, 'options', v.options, 'at', v.at) order by v.at) from session_poll_votes v
								where v.session_id = s.session_id and v.chat_jid = s.chat_jid and v.message_id = s.message_id and v.from_me = s.from_me) end as votes
						from session_messages s where session_id = ${sid} and chat_jid = ${CHAT} and timestamp is not null
						order by timestamp desc nulls last, seq desc, message_id desc, from_me desc limit 51`
					const items = rows.slice(0, 50).map((r) => ({
						id: r.message_id,
						chatJid: CHAT,
						fromMe: r.from_me,
						sender: r.sender_jid,
						pushName: r.push_name,
						timestamp: (r.timestamp as Date).toISOString(),
						type: r.type,
						text: r.text,
						status: messageStatusName(r.status as number | null),
						editedAt: r.edited_at ? (r.edited_at as Date).toISOString() : null,
						revoked: r.revoked_at !== null,
						kind: r.kind ?? 'text',
						media: null,
						location: null,
						contacts: null,
						poll: null,
						replyTo: r.reply_to,
						reactions: [],
						content: r.content,
					}))
					return Response.json({ items, nextCursor: 'x' })
				},
			},
		})
		const bareUrl = `http://127.0.0.1:${bare.port}`

		// Both sides answer the same items before anything is timed.
		const mine = (await (await fetch(`${url}/chats?sessionId=${sid}`, { headers })).json()) as { items: unknown[] }
		const theirs = (await (await fetch(`${bareUrl}/chats`)).json()) as { items: unknown[] }
		if (JSON.stringify(mine.items) !== JSON.stringify(theirs.items)) throw new Error('the bare handler answers other chats')
		const mineM = (await (await fetch(`${url}/chats/${CHAT}/messages?sessionId=${sid}`, { headers })).json()) as { items: unknown[] }
		const theirsM = (await (await fetch(`${bareUrl}/messages`)).json()) as { items: unknown[] }
		if (JSON.stringify(mineM.items) !== JSON.stringify(theirsM.items)) throw new Error('the bare handler answers other messages')

		// Alternating short rounds, median of each side: on a small machine the load generator, the
		// server and Postgres share the cores, and single runs swing by a third.
		const mineC = (await (await fetch(`${url}/contacts?sessionId=${sid}`, { headers })).json()) as { items: unknown[] }
		const theirsC = (await (await fetch(`${bareUrl}/contacts`)).json()) as { items: unknown[] }
		if (JSON.stringify(mineC.items) !== JSON.stringify(theirsC.items)) throw new Error('the bare handler answers other contacts')

		const results: BenchResult[] = []
		const median = (xs: number[]) => xs.sort((a, b) => a - b)[Math.floor(xs.length / 2)]!
		for (const [name, route, bareRoute] of [
			['GET /chats (50 a page)', `/chats?sessionId=${sid}`, '/chats'],
			['GET /chats/:jid/messages (50 a page)', `/chats/${CHAT}/messages?sessionId=${sid}`, '/messages'],
			['GET /contacts (50 a page)', `/contacts?sessionId=${sid}`, '/contacts'],
		] as const) {
			await load(url + route, headers) // warm-up: JIT, pools, prepared statements
			await load(bareUrl + bareRoute, {})
			const api: number[] = []
			const baseline: number[] = []
			for (let round = 0; round < ROUNDS; round++) {
				const a = await load(url + route, headers)
				const b = await load(bareUrl + bareRoute, {})
				api.push(a.rate)
				baseline.push(b.rate)
			}
			results.push({
				name,
				value: median(api),
				unit: 'req/s',
				baseline: median(baseline),
				baselineName: 'bare Bun.serve, same SQL',
				higherIsBetter: true,
			})
		}
		return results
	} finally {
		bare?.stop(true)
		await app.stop(true)
		await composed.close()
		await raw.end({ timeout: 5 })
		await database.close()
		await testDb.drop()
	}
}
