import { Type as T, type Static, type TSchema } from '@sinclair/typebox'
import { MEDIA_STATES } from '../media'
import { Group, GroupAction, GROUP_ROSTER_MAX, GroupParticipant } from './groups'
import { PresenceEventData } from './presence'
import { Chat, Contact, IsoTime, Jid, LidPnMapping, Message, MESSAGE_BATCH_MAX, MessageKey, MessageUpdate, Uuid } from './shapes'

const Messages = T.Array(Message, { maxItems: MESSAGE_BATCH_MAX })

/** `data` of every `domain-events` type. */
export const DomainEventData = {
	/** The API created the session row (in the same transaction as this event). */
	'session.created': T.Object({
		name: T.String(),
		/** Set when the session pairs by code rather than QR. */
		phoneNumber: T.Optional(T.String()),
	}),
	/** The session and everything stored for it are gone. */
	'session.deleted': T.Object({}),
	'session.qr.updated': T.Object({
		qr: T.String({ minLength: 1 }),
		/** When WhatsApp stops accepting this QR (ISO-8601). */
		expiresAt: T.Optional(IsoTime),
	}),
	'session.pairing_code.updated': T.Object({ code: T.String({ minLength: 1, maxLength: 16 }) }),
	'session.status.connected': T.Object({
		jid: Jid,
		lid: T.Optional(Jid),
		phoneNumber: T.Optional(T.String()),
		/** The account's own push name. */
		name: T.Optional(T.String()),
		/** The runner holding the socket (its id: `<host>:<pid>:<random>`), for operators. */
		runner: T.Optional(T.String({ maxLength: 256 })),
	}),
	'session.status.disconnected': T.Object({
		/** Where the session ends up: a transient drop is `reconnecting`, `sock.end()` is `stopped`. */
		status: T.Union([T.Literal('reconnecting'), T.Literal('stopped'), T.Literal('logged_out'), T.Literal('failed')]),
		/** Short machine name: `restart_required`, `connection_lost`, `timed_out`, `connection_replaced`, `logged_out`, `stopped`, … */
		reason: T.String({ minLength: 1, maxLength: 64 }),
		/** Baileys `DisconnectReason` / WebSocket status code when there was one. */
		code: T.Optional(T.Integer()),
		message: T.Optional(T.String({ maxLength: 2048 })),
	}),
	/** One batch of a history sync (`messaging-history.set` split into ≤ MESSAGE_BATCH_MAX messages). */
	'session.history.sync': T.Object({
		messages: Messages,
		chats: T.Array(Chat),
		contacts: T.Array(Contact),
		lidPnMappings: T.Array(LidPnMapping),
		syncType: T.Optional(T.String()),
		/** WhatsApp's progress of the whole sync, 0–100, when it sent one. */
		progress: T.Optional(T.Union([T.Number({ minimum: 0, maximum: 100 }), T.Null()])),
		isLatest: T.Optional(T.Boolean()),
		chunkOrder: T.Optional(T.Integer()),
		/** This batch's place among the batches one history chunk was split into. */
		part: T.Optional(T.Object({ index: T.Integer({ minimum: 0 }), count: T.Integer({ minimum: 1 }) })),
	}),
	'session.messages.upsert': T.Object({
		messages: Messages,
		/** `notify`: new, live; `append`: backlog or own sends. */
		type: T.Union([T.Literal('notify'), T.Literal('append')]),
	}),
	'session.messages.update': T.Object({ updates: T.Array(MessageUpdate, { maxItems: MESSAGE_BATCH_MAX }) }),
	'session.contacts.upsert': T.Object({ contacts: T.Array(Contact) }),
	'session.chats.upsert': T.Object({ chats: T.Array(Chat) }),
	/** A received message's file changed state: stored (its bytes are at `GET /media/:id`), failed or expired. */
	'session.media.updated': T.Object({
		id: Uuid,
		message: MessageKey,
		state: T.Union(MEDIA_STATES.map((s) => T.Literal(s))),
		/** Why a file failed: the check it did not pass (`mac_mismatch`, `sha256_mismatch`, …) or what WhatsApp answered. */
		reason: T.Optional(T.String({ maxLength: 256 })),
		size: T.Optional(T.Integer({ minimum: 0 })),
		sha256: T.Optional(T.String({ pattern: '^[0-9a-f]{64}$' })),
	}),
	/** Groups as WhatsApp answered them whole (on connect, on create, after a stale list): each replaces what was known of it. */
	'session.groups.upsert': T.Object({ groups: T.Array(Group, { maxItems: 1000 }) }),
	/** Changes to groups' info (subject, description, settings); only the fields given changed. */
	'session.groups.update': T.Object({ updates: T.Array(Group, { maxItems: 1000 }) }),
	/** Members added, removed, promoted or demoted. */
	'session.group_participants.update': T.Object({
		groupJid: Jid,
		action: GroupAction,
		participants: T.Array(GroupParticipant, { minItems: 1, maxItems: GROUP_ROSTER_MAX }),
		author: T.Optional(Jid),
	}),
	/** A command that answers something (the group management commands) was executed; `commandId` is its envelope id. */
	'session.command.completed': T.Object({
		commandId: Uuid,
		command: T.String(),
		result: T.Object({
			groupJid: T.Optional(Jid),
			/** The group's invite code, and the link people join with. */
			inviteCode: T.Optional(T.String({ maxLength: 128 })),
			inviteLink: T.Optional(T.String({ maxLength: 256 })),
			/** Per participant of a change: `200`, or WhatsApp's code (`403` not allowed, `404` not in the group, `409` already in it). */
			participants: T.Optional(T.Array(T.Object({ jid: Jid, status: T.String({ maxLength: 16 }) }), { maxItems: 2048 })),
		}),
	}),
	/** A command could not be executed; `commandId` is the failed command's envelope id. */
	'session.command.failed': T.Object({
		commandId: Uuid,
		command: T.String(),
		error: T.Object({ code: T.String(), message: T.String() }),
		/** For `session.messages.send`: the message that was not sent. */
		messageId: T.Optional(T.String()),
	}),
	...PresenceEventData,
} satisfies Record<string, TSchema>

export type DomainEventType = keyof typeof DomainEventData
export type EventData<K extends DomainEventType> = Static<(typeof DomainEventData)[K]>
export const DOMAIN_EVENT_TYPES = Object.keys(DomainEventData) as DomainEventType[]
export const isDomainEventType = (type: string): type is DomainEventType => Object.hasOwn(DomainEventData, type)
