import { t } from 'elysia'
import { DESIRED_STATES, SESSION_STATUSES } from '../../core/session-status'
import { Nullable, UUID_PATTERN, UuidInput, SINGLE_LINE_PATTERN } from '../../lib/schema'
import { MessageAccepted, SendFields } from '../messages/model'

// A pattern, not `format: 'uuid'` (see UUID_PATTERN): the main entry of @elysiajs/openapi swaps in
// format checks that build a zod schema on every call, ~50 µs a value, against ~1 µs for the pattern.
const Uuid = t.String({ pattern: UUID_PATTERN, description: 'uuid', examples: ['0197f0c2-3a4b-7c5d-8e9f-0a1b2c3d4e5f'] })
const Time = t.String({ format: 'date-time' })

// No control characters (NUL included): names show up in lists, logs and the WebSocket.
const SessionName = t.String({ minLength: 1, maxLength: 100, pattern: SINGLE_LINE_PATTERN, examples: ['Support line'] })

/** Pagination of every list: keyset, never OFFSET. */
export const PageQuery = {
	limit: t.Optional(t.Integer({ minimum: 1, maximum: 200, default: 50, description: 'Items per page (1–200, default 50)' })),
	cursor: t.Optional(t.String({ minLength: 1, maxLength: 2048, description: 'The `nextCursor` of the previous page, as given' })),
}

/** `?sessionId=`; optional when the tenant has exactly one session. */
export const SessionFilter = t.Optional(
	UuidInput({ description: "The session (uuid) to read; defaults to the tenant's only session (400 when it has several)" }),
)

/** A WhatsApp session as every response shows it. */
export const Session = t.Object({
	id: Uuid,
	name: t.String(),
	status: t.UnionEnum(SESSION_STATUSES, { description: 'Where the connection is now, as the runner reported it' }),
	desiredState: t.UnionEnum(DESIRED_STATES, { description: 'What was last asked for (start/stop); the runner converges on it' }),
	phoneNumber: Nullable(t.String({ description: 'Digits of the international number: the linked account, or the one a pairing code was asked for' })),
	jid: Nullable(t.String({ description: 'The linked account (…@s.whatsapp.net)' })),
	lid: Nullable(t.String({ description: "The linked account's LID (…@lid)" })),
	qr: Nullable(t.String({ description: 'The QR payload to scan while `status` is `qr`; GET /sessions/:id/qr renders it' })),
	pairingCode: Nullable(t.String({ description: 'Code to enter on the phone when the session was created with a phone number' })),
	lastError: Nullable(t.String()),
	ownerRunner: Nullable(
		t.String({ description: 'Runner holding the socket, known once the session connects (null while it waits for a scan or a code)' }),
	),
	createdAt: Time,
	updatedAt: Time,
})

export type Session = typeof Session.static

export const sessionsModels = {
	Session,
	SessionPage: t.Object({
		items: t.Array(Session),
		nextCursor: Nullable(t.String()),
	}),
	CreateSession: t.Object({
		name: t.Optional(SessionName),
		phoneNumber: t.Optional(
			t.String({
				minLength: 1,
				maxLength: 40,
				description: 'Pair by code instead of QR: the international number of the phone, as written (`+1 555-777 0003`)',
			}),
		),
	}),
	SendMessage: t.Object({
		to: t.String({
			minLength: 1,
			maxLength: 320,
			description: 'A phone number in international form as people write it (`+1 555-777 0003`) or a JID (…@s.whatsapp.net, …@lid, …@g.us)',
			examples: ['+1 555-777 0003'],
		}),
		...SendFields,
	}),
	MessageAccepted,
}

export const SessionIdParams = t.Object({ id: UuidInput({ examples: ['0197f0c2-3a4b-7c5d-8e9f-0a1b2c3d4e5f'] }) })

// A Union of literals, not t.UnionEnum: Elysia filled an absent optional UnionEnum query field with
// its first member, which would hide the Accept header.
export const QrQuery = t.Object({
	format: t.Optional(t.Union([t.Literal('png'), t.Literal('svg')], { description: 'Default: PNG, or SVG when `Accept` prefers image/svg+xml' })),
})

export const SessionListQuery = t.Object(PageQuery)
