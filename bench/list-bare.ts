import { messageStatusName } from '../src/core/message-status'
import { SECURITY_HEADERS } from '../src/plugins/security-headers'
import { CHAT, type ListApi, LIST_ROUTES, type ListRoute } from './list-api'

/**
 * The lists benchmark's baseline: a bare `Bun.serve` handler per list route that runs the same SQL
 * through the same postgres.js pool size and serialises the same items into an answer with the
 * same headers, with nothing of the framework, auth, validation or mapping around it. Paths:
 * `/chats`, `/messages`, `/contacts`. With `oneHeader` it sends only its content type, as a
 * handler with nothing to say about caching, framing or sniffing would: what the headers cost.
 */
export function startBareLists(api: ListApi, { oneHeader = false } = {}): ReturnType<typeof Bun.serve> {
	const { raw, sessionId: sid, tenantId } = api
	// Headers cost more than their bytes: Bun writes an answer given after an await without corking
	// the socket, one send() per name, separator, value and line end.
	const answer = (page: unknown) => Response.json(page, oneHeader ? {} : { headers: { ...SECURITY_HEADERS, 'x-request-id': Bun.randomUUIDv7() } })
	// The statements the routes run (resolveId, then the list; messages also resolve the chat).
	const ownSession = () => raw`select id from sessions where id = ${sid} and tenant_id = ${tenantId} and deleted_at is null`
	return Bun.serve({
		port: 0,
		hostname: '127.0.0.1',
		routes: {
			'/chats': async () => {
				await ownSession()
				const rows = await raw`select jid, pn_jid, lid_jid, name, unread_count, archived, last_message_at,
						coalesce(c.name, case when c.jid like '%@g.us' then (select g.subject from session_groups g where g.session_id = c.session_id and g.jid = c.jid) end,
							(select coalesce(k.name, k.notify, k.verified_name) from session_contacts k where k.session_id = c.session_id and k.jid = c.jid),
							(select coalesce(k.name, k.notify, k.verified_name) from session_contacts k where k.session_id = c.session_id and k.jid = c.lid_jid)) as display_name,
						(select json_build_object('id', x.message_id, 'fromMe', x.from_me, 'sender', x.sender_jid, 'pushName', x.push_name, 'kind', x.kind, 'type', x.type, 'text', case when x.revoked_at is null then x.text end,
							'timestamp', x.timestamp::text, 'status', x.status, 'revoked', x.revoked_at is not null)
						from ((select m.message_id, m.from_me, m.sender_jid, m.push_name, m.kind, m.type, m.text, m.timestamp, m.seq, m.status, m.revoked_at from session_messages m
								where m.session_id = c.session_id and m.chat_jid = c.jid and m.timestamp is not null
								order by m.timestamp desc nulls last, m.seq desc, m.message_id desc, m.from_me desc limit 1)
							union all (select m.message_id, m.from_me, m.sender_jid, m.push_name, m.kind, m.type, m.text, m.timestamp, m.seq, m.status, m.revoked_at from session_messages m
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
					displayName: r.display_name,
					unreadCount: r.unread_count,
					archived: r.archived,
					lastMessageAt: (r.last_message_at as Date).toISOString(),
					lastMessage: r.last_message && {
						id: r.last_message.id,
						fromMe: r.last_message.fromMe,
						sender: r.last_message.sender,
						pushName: r.last_message.pushName,
						// Every message of the benchmark is a text: the kind needs no guess from the type.
						kind: r.last_message.kind,
						text: r.last_message.text,
						timestamp: new Date(r.last_message.timestamp).toISOString(),
						status: messageStatusName(r.last_message.status),
						revoked: r.last_message.revoked,
					},
				}))
				return answer({ items, nextCursor: 'x' })
			},
			'/contacts': async () => {
				await ownSession()
				const rows =
					await raw`select jid, pn_jid, lid_jid, name, notify, verified_name, img_url, regexp_replace(normalize(lower(coalesce(name, notify, verified_name)), NFD), '[\\u0300-\\u036f]', '', 'g') as sort_key
					from session_contacts c where session_id = ${sid} and regexp_replace(normalize(lower(coalesce(name, notify, verified_name)), NFD), '[\\u0300-\\u036f]', '', 'g') is not null
						and (pn_jid is null or jid = pn_jid or not exists (select 1 from session_contacts o where o.session_id = c.session_id and o.jid = c.pn_jid))
					order by regexp_replace(normalize(lower(coalesce(name, notify, verified_name)), NFD), '[\\u0300-\\u036f]', '', 'g'), jid limit 51`
				const items = rows.slice(0, 50).map((c) => ({
					jid: c.pn_jid ?? c.jid,
					pnJid: c.pn_jid,
					lidJid: c.lid_jid,
					displayName: c.name ?? c.notify ?? c.verified_name,
					name: c.name,
					notify: c.notify,
					verifiedName: c.verified_name,
					imgUrl: c.img_url,
				}))
				return answer({ items, nextCursor: 'x' })
			},
			'/messages': async () => {
				await ownSession()
				await raw`select jid, pn_jid from session_chats where session_id = ${sid} and (
					jid = any(array(select ${CHAT}::text union all select pn from session_lid_mappings where session_id = ${sid} and lid = ${CHAT} union all select lid from session_lid_mappings where session_id = ${sid} and pn = ${CHAT}))
					or pn_jid = any(array(select ${CHAT}::text union all select pn from session_lid_mappings where session_id = ${sid} and lid = ${CHAT} union all select lid from session_lid_mappings where session_id = ${sid} and pn = ${CHAT}))
					or lid_jid = any(array(select ${CHAT}::text union all select pn from session_lid_mappings where session_id = ${sid} and lid = ${CHAT} union all select lid from session_lid_mappings where session_id = ${sid} and pn = ${CHAT}))) limit 8`
				const rows = await raw`select message_id, from_me, sender_jid, push_name, timestamp, seq, type, text, status, edited_at, revoked_at,
						kind, kind_data, reply_to,
						coalesce(sender_alt_jid, case
							when sender_jid like '%@lid' then (select min(m.pn) from session_lid_mappings m where m.session_id = s.session_id and m.lid = s.sender_jid)
							when sender_jid like '%@s.whatsapp.net' then (select min(m.lid) from session_lid_mappings m where m.session_id = s.session_id and m.pn = s.sender_jid) end) as sender_alt,
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
					sender: r.sender_jid?.endsWith('@lid') && r.sender_alt?.endsWith('@s.whatsapp.net') ? r.sender_alt : r.sender_jid,
					senderPn: [r.sender_jid, r.sender_alt].find((j) => j?.endsWith('@s.whatsapp.net')) ?? null,
					senderLid: [r.sender_jid, r.sender_alt].find((j) => j?.endsWith('@lid')) ?? null,
					pushName: r.push_name,
					timestamp: (r.timestamp as Date).toISOString(),
					seq: Number(r.seq),
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
				return answer({ items, nextCursor: 'x' })
			},
		},
	})
}

/** Header names of an answer, but those Bun adds to every answer. */
const headerNames = (res: Response) =>
	[...res.headers.keys()]
		.filter((name) => name !== 'date' && name !== 'content-length')
		.sort()
		.join(', ')

/**
 * Throws, naming the route, unless the bare handlers answer the items the routes answer, with the
 * same headers: a route that shows more than its bare handler reads, or says more about its answer,
 * would be measured against less work than it does.
 */
export async function assertSameAnswers(api: ListApi, bareUrl: string): Promise<void> {
	for (const route of Object.keys(LIST_ROUTES) as ListRoute[]) {
		const [routeAnswer, bareAnswer] = await Promise.all([fetch(api.url + api.routes[route], { headers: api.headers }), fetch(`${bareUrl}/${route}`)])
		if (headerNames(routeAnswer) !== headerNames(bareAnswer))
			throw new Error(`the bare handler of ${LIST_ROUTES[route]} answers headers ${headerNames(bareAnswer)}, the route ${headerNames(routeAnswer)}`)
		const mine = (await routeAnswer.json()) as { items: unknown[] }
		const theirs = (await bareAnswer.json()) as { items: unknown[] }
		if (!mine.items?.length) throw new Error(`${LIST_ROUTES[route]} answers no items`)
		const [a, b] = [JSON.stringify(mine.items), JSON.stringify(theirs.items)]
		if (a !== b) {
			let at = 0
			while (at < a.length && a[at] === b[at]) at++
			throw new Error(
				`the bare handler of ${LIST_ROUTES[route]} answers other items, from …${a.slice(Math.max(0, at - 60), at + 60)}… (route) against …${b.slice(Math.max(0, at - 60), at + 60)}… (bare)`,
			)
		}
	}
}
