import { Type } from '@sinclair/typebox'
import { t } from 'elysia'
import { EditMessage, IdempotencyHeaders, MarkRead, ReadAccepted, SendMessageContent } from '../messages/model'
import { ContactCard, Location, MediaRef, MESSAGE_KINDS, ReplyTo } from '../../core/catalogue'
import { MESSAGE_STATUSES } from '../../core/message-status'
import { PageQuery, SessionFilter } from '../sessions/model'
import { Nullable } from '../../lib/schema'

export { IdempotencyHeaders }

const Time = t.String({ format: 'date-time' })

export const Chat = t.Object({
	jid: t.String({ description: 'The chat: the phone-number JID when known, else the LID (…@lid) or group (…@g.us)' }),
	pnJid: Nullable(t.String()),
	lidJid: Nullable(t.String()),
	name: Nullable(t.String({ description: 'As WhatsApp names the chat (history, app state); null when it gave no name' })),
	displayName: Nullable(
		t.String({
			description:
				"What to show the chat as: `name`, else the group's subject, else the contact's name (address book, push name, business name); null when none is known (show the number)",
		}),
	),
	// TypeBox's own Integer: Elysia's t.Integer is a transform (it also takes numeric strings), and a
	// transform anywhere in a response schema makes Elysia encode every response value by value.
	unreadCount: Nullable(
		Type.Integer({ description: "WhatsApp's last count (history, the chat read on the phone) plus the messages received since and not read" }),
	),
	archived: Nullable(t.Boolean({ description: 'As WhatsApp last said; null when it said nothing' })),
	lastMessageAt: Nullable(Time),
	lastMessage: Nullable(
		t.Object(
			{
				id: t.String(),
				fromMe: t.Boolean(),
				sender: Nullable(t.String()),
				pushName: Nullable(t.String({ description: "The name the sender's phone gave it; in a group, who wrote it" })),
				kind: t.UnionEnum(MESSAGE_KINDS),
				text: Nullable(t.String({ description: 'Text or caption; null for media without one and for deleted messages' })),
				timestamp: Time,
				status: Nullable(t.UnionEnum(MESSAGE_STATUSES)),
				revoked: t.Boolean(),
			},
			{ description: "A preview of the chat's newest message (the whole one is the first of GET /chats/:jid/messages); null when none is stored" },
		),
	),
})

export const Message = t.Object({
	id: t.String({ description: 'WhatsApp message id' }),
	chatJid: t.String(),
	fromMe: t.Boolean(),
	sender: Nullable(
		t.String({ description: 'Who wrote it (null for own messages); in groups the participant: the phone-number JID when known, else the LID' }),
	),
	senderPn: Nullable(t.String({ description: "The sender's phone-number JID, when known" })),
	senderLid: Nullable(t.String({ description: "The sender's LID, when known" })),
	pushName: Nullable(t.String()),
	timestamp: Time,
	seq: Type.Integer({
		minimum: 0,
		description:
			'The order messages arrived in, within the session: of two messages of the same second, the later one has the higher seq (0 when unknown)',
	}),
	type: Nullable(t.String({ description: 'proto content key: conversation, extendedTextMessage, imageMessage, …' })),
	text: Nullable(t.String({ description: 'Text or caption; null for media without a caption and for deleted messages' })),
	status: Nullable(t.UnionEnum(MESSAGE_STATUSES, { description: 'Only moves forward: pending → server_ack → delivered → read → played' })),
	editedAt: Nullable(Time),
	revoked: t.Boolean({ description: 'Deleted for everyone' }),
	kind: t.UnionEnum(MESSAGE_KINDS, { description: 'What the message is; its typed fields follow (`other`: only `content`)' }),
	media: Nullable(
		t.Composite([Type.Omit(MediaRef, ['state']), t.Object({ state: MediaRef.properties.state })], {
			description: 'The file of an image, video, audio, voice note, document or sticker; the bytes are at GET /media/:id once `state` is `stored`',
		}),
	),
	location: Nullable(Location),
	contacts: Nullable(t.Array(ContactCard)),
	poll: Nullable(
		t.Object({
			question: t.String(),
			options: t.Array(t.Object({ name: t.String(), votes: Type.Integer({ minimum: 0 }) })),
			selectableCount: Type.Integer({ minimum: 0, description: 'How many options a voter may pick (0: any number)' }),
			votes: t.Array(t.Object({ voter: t.String(), options: t.Array(t.String()), at: Time }), { description: "Each voter's current choice" }),
		}),
	),
	replyTo: Nullable(ReplyTo),
	reactions: t.Array(t.Object({ sender: t.String(), emoji: t.String(), at: Time }), {
		description: "Each person's current reaction (own ones with this account's JID)",
	}),
	content: Nullable(
		t.Record(t.String(), t.Unknown(), { description: 'The raw proto message (JSON) for types the API does not model yet; null for text' }),
	),
})

export type Chat = typeof Chat.static
export type Message = typeof Message.static

export const chatsModels = {
	Chat,
	ChatPage: t.Object({ items: t.Array(Chat), nextCursor: Nullable(t.String()) }),
	Message,
	MessagePage: t.Object({ items: t.Array(Message), nextCursor: Nullable(t.String()) }),
	ChatMessage: SendMessageContent,
	EditMessage,
	MarkRead,
	ReadAccepted,
}

export const ChatListQuery = t.Object({ sessionId: SessionFilter, ...PageQuery })
export const SessionQuery = t.Object({ sessionId: SessionFilter })

export const DeleteQuery = t.Object({
	for: t.Optional(
		t.Union([t.Literal('everyone'), t.Literal('me')], {
			description: "`everyone` (default): WhatsApp deletes it on every phone; `me`: only Switchboard's store forgets it",
		}),
	),
	sessionId: SessionFilter,
})

export const ChatParams = t.Object({
	jid: t.String({
		minLength: 1,
		maxLength: 320,
		description: 'A chat JID (…@s.whatsapp.net, …@lid, …@g.us) or a phone number; the LID and phone-number forms of a person name the same chat',
	}),
})

export const ChatMessageParams = t.Object({
	jid: ChatParams.properties.jid,
	messageId: t.String({ minLength: 1, maxLength: 128, description: 'The WhatsApp message id' }),
})
