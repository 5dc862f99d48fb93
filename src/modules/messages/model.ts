import { t } from 'elysia'
import { UuidInput, TOKEN_PATTERN } from '../../lib/schema'

/** The only text of a message that WhatsApp clients show in full; the catalogue caps sends at it. */
const TEXT_MAX_LENGTH = 65_536

const Upload = t.Object({ mediaId: UuidInput({ description: 'The `id` POST /media answered' }) })
const MessageId = t.String({ minLength: 1, maxLength: 128, description: 'A WhatsApp message id in the chat' })

export const SendText = t.String({
	minLength: 1,
	maxLength: TEXT_MAX_LENGTH,
	description: `Message text, 1–${TEXT_MAX_LENGTH} characters, not only whitespace`,
	examples: ['Hello from Switchboard'],
})

// Other headers (Authorization above all) must stay: a closed schema would strip them before the auth macro reads them.
export const IdempotencyHeaders = t.Object(
	{
		'idempotency-key': t.Optional(
			t.String({
				minLength: 1,
				maxLength: 255,
				pattern: TOKEN_PATTERN,
				description:
					'Any printable ASCII token (e.g. a uuid). A retry with the same key and body answers the same message id and sends nothing; the same key with another body answers 422.',
			}),
		),
	},
	{ additionalProperties: true },
)

/** The content of a message to send: exactly one kind (text, a file, a location, …), plus what goes with it. */
export const SendFields = {
	text: t.Optional(SendText),
	image: t.Optional(Upload),
	video: t.Optional(Upload),
	audio: t.Optional(Upload),
	document: t.Optional(Upload),
	sticker: t.Optional(Upload),
	mentions: t.Optional(
		t.Array(t.String({ minLength: 1, maxLength: 320 }), {
			minItems: 1,
			maxItems: 1024,
			description:
				'With text: the people it mentions (JIDs or phone numbers); write `@<their number>` in the text where WhatsApp should show the mention',
		}),
	),
	caption: t.Optional(t.String({ minLength: 1, maxLength: 4096, description: 'With an image, video or document' })),
	fileName: t.Optional(t.String({ minLength: 1, maxLength: 255, description: "A document's name; default: the upload's" })),
	ptt: t.Optional(t.Boolean({ description: 'Send the audio as a voice note (the upload must be ogg/opus)' })),
	gif: t.Optional(t.Boolean({ description: 'Play the video as a gif' })),
	location: t.Optional(
		t.Object({
			latitude: t.Number({ minimum: -90, maximum: 90 }),
			longitude: t.Number({ minimum: -180, maximum: 180 }),
			name: t.Optional(t.String({ minLength: 1, maxLength: 1024 })),
			address: t.Optional(t.String({ minLength: 1, maxLength: 1024 })),
		}),
	),
	contacts: t.Optional(
		t.Array(
			t.Object({
				name: t.String({ minLength: 1, maxLength: 256 }),
				phoneNumbers: t.Array(t.String({ minLength: 1, maxLength: 40 }), { minItems: 1, maxItems: 10 }),
			}),
			{ minItems: 1, maxItems: 50, description: 'Contact cards; a vCard is written for each' },
		),
	),
	reaction: t.Optional(
		t.Object({
			messageId: MessageId,
			emoji: t.String({ maxLength: 64, description: 'One emoji; empty takes this account’s reaction back' }),
		}),
	),
	poll: t.Optional(
		t.Object({
			question: t.String({ minLength: 1, maxLength: 255 }),
			options: t.Array(t.String({ minLength: 1, maxLength: 100 }), { minItems: 2, maxItems: 12 }),
			selectableCount: t.Optional(t.Integer({ minimum: 0, maximum: 12, description: 'How many options a voter may pick; 0 (default): any number' })),
		}),
	),
	replyTo: t.Optional(t.String({ minLength: 1, maxLength: 128, description: 'The id of the message this one answers (shown quoted)' })),
}

/** The kinds a send may carry; exactly one per message. */
export const SEND_KINDS = ['text', 'image', 'video', 'audio', 'document', 'sticker', 'location', 'contacts', 'reaction', 'poll'] as const

export const SendMessageContent = t.Object(SendFields)
export type SendMessageContent = typeof SendMessageContent.static

export const MessageAccepted = t.Object({
	messageId: t.String({
		description: 'The WhatsApp message id; the later `session.messages.upsert` carries it',
		examples: ['3EB0A1B2C3D4E5F6A7B8C9'],
	}),
	status: t.Literal('pending'),
	chatJid: t.String({
		description:
			"The chat the message is filed under: the recipient normalised, and a person's LID as its phone-number JID when the session knows it",
	}),
})
export type MessageAccepted = typeof MessageAccepted.static

/** PATCH /chats/:jid/messages/:messageId */
export const EditMessage = t.Object({ text: SendText })

/** POST /chats/:jid/read */
export const MarkRead = t.Object({
	messageId: t.Optional(t.String({ minLength: 1, maxLength: 128, description: 'Mark up to this message; default: the newest' })),
})

export const ReadAccepted = t.Object({
	chatJid: t.String(),
	marked: t.Integer({ minimum: 0, description: 'How many received messages were marked read (read receipts queued)' }),
})
export type ReadAccepted = typeof ReadAccepted.static
