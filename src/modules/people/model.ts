import { t } from 'elysia'
import { CHAT_STATES, NUMBER_CHECK_HARD_MAX, OWN_PRESENCES } from '../../core/catalogue'
import { Nullable } from '../../lib/schema'

export const NumberCheckResult = t.Object({
	input: t.String({ description: 'The number as it was sent' }),
	exists: t.Boolean({ description: 'Whether the number has a WhatsApp account' }),
	jid: Nullable(t.String({ description: 'Its phone-number JID, when it exists' })),
	lid: Nullable(t.String({ description: 'Its LID, when WhatsApp told it' })),
	reason: t.Optional(t.Literal('invalid_number', { description: 'Not a phone number with its country code: WhatsApp was not asked' })),
})
export type NumberCheckResult = typeof NumberCheckResult.static

export const PresenceAccepted = t.Object({
	chatJid: Nullable(t.String({ description: 'The chat (null for the account’s own availability)' })),
	state: t.String({ description: 'What was asked: a chat state, an availability, or `subscribed`' }),
})
export type PresenceAccepted = typeof PresenceAccepted.static

export const peopleModels = {
	NumberCheck: t.Object({
		// Any text: an entry that is no phone number (empty, too long) is answered `invalid_number`, never a refused batch.
		phoneNumbers: t.Array(t.String(), {
			minItems: 1,
			maxItems: NUMBER_CHECK_HARD_MAX,
			description: 'Phone numbers with their country code, written any usual way (`+1 555-030 0001`, `0044 20 …`)',
		}),
	}),
	NumberCheckResults: t.Object({ results: t.Array(NumberCheckResult) }),
	// Unions of literals, not t.UnionEnum: Elysia fills an absent UnionEnum field with its first member.
	ChatPresence: t.Object({
		state: t.Union(
			CHAT_STATES.map((s) => t.Literal(s)),
			{ description: '`typing`, `recording` (a voice note) or `paused`' },
		),
	}),
	OwnPresence: t.Object({
		state: t.Union(
			OWN_PRESENCES.map((s) => t.Literal(s)),
			{ description: '`available` (online) or `unavailable`' },
		),
	}),
	PresenceAccepted,
}
