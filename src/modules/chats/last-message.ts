import { sql } from 'drizzle-orm'
import type { MessageKind } from '../../core/catalogue'
import { messageStatusName } from '../../core/message-status'
import { isoTime } from '../../lib/keyset'
import { kindOf } from './message-view'
import type { Chat } from './model'

/** The newest message filed under one JID of a chat: one probe of the chat-order index. */
const newestUnder = (jid: string) =>
	`(select m.message_id, m.from_me, m.sender_jid, m.push_name, m.kind, m.type, m.text, m.timestamp, m.seq, m.status, m.revoked_at
		from session_messages m
		where m.session_id = "session_chats"."session_id" and m.chat_jid = ${jid} and m.timestamp is not null
		order by m.timestamp desc nulls last, m.seq desc, m.message_id desc, m.from_me desc limit 1)`

/**
 * The chat list's preview of each chat's newest message. A person's messages may be filed under
 * the phone JID and the LID (see ChatsService), so the newest of both forms, each one index probe
 * rather than a sort over the chat. Texts of deleted messages are gone, as everywhere.
 */
export const lastMessageColumn =
	sql`(select json_build_object('id', x.message_id, 'fromMe', x.from_me, 'sender', x.sender_jid, 'pushName', x.push_name,
		'kind', x.kind, 'type', x.type, 'text', case when x.revoked_at is null then x.text end, 'timestamp', x.timestamp::text,
		'status', x.status, 'revoked', x.revoked_at is not null)
	from (${sql.raw(newestUnder(`"session_chats"."jid"`))}
		union all ${sql.raw(newestUnder(`"session_chats"."lid_jid"`))}) x
	order by x.timestamp desc, x.seq desc, x.message_id desc, x.from_me desc limit 1)`.as('last_message')

/** The preview as Postgres returns it. */
export interface LastMessageRow {
	id: string
	fromMe: boolean
	sender: string | null
	pushName: string | null
	kind: MessageKind | null
	type: string | null
	text: string | null
	timestamp: string
	status: number | null
	revoked: boolean
}

export function toLastMessage(row: LastMessageRow | null): Chat['lastMessage'] {
	if (!row) return null
	return {
		id: row.id,
		fromMe: row.fromMe,
		sender: row.sender,
		pushName: row.pushName,
		kind: kindOf(row),
		text: row.text,
		timestamp: isoTime(row.timestamp)!,
		status: messageStatusName(row.status),
		revoked: row.revoked,
	}
}
