import { Type as T, type Static, type TSchema } from '@sinclair/typebox'
import { EpochSeconds, Jid } from './shapes-base'

/**
 * Presence: what this account shows (online, typing in a chat) and what it hears of others once it
 * subscribed to them. Presence is of the moment: it travels as commands and events, and nothing
 * of it is stored.
 */

/** In a chat: typing, recording a voice note, or stopped (`paused`). */
export const CHAT_STATES = ['typing', 'recording', 'paused'] as const
/** The account as a whole: online or not (WhatsApp shows "last seen" once it goes unavailable). */
export const OWN_PRESENCES = ['available', 'unavailable'] as const
/** What an update says of someone: online or not, or typing / recording in the chat. */
export const PRESENCES = ['available', 'unavailable', 'typing', 'recording'] as const

export const PresenceCommandData = {
	/** Shows `state` in the chat `to` (a chat state), or the account's own availability (no `to`). */
	'session.presence.send': T.Union([
		T.Object({ state: T.Union(CHAT_STATES.map((s) => T.Literal(s))), to: Jid }),
		T.Object({ state: T.Union(OWN_PRESENCES.map((s) => T.Literal(s))) }),
	]),
	/** Asks WhatsApp for the presence of a contact (or group): `session.presence.updated` follows while the socket lives. */
	'session.presence.subscribe': T.Object({ jid: Jid }),
} satisfies Record<string, TSchema>

export const PresenceEventData = {
	/** Someone's presence in a chat changed (published, never stored). */
	'session.presence.updated': T.Object({
		/** The chat: the contact's JID, or the group's. */
		chatJid: Jid,
		/** Who: the contact, or in a group the member. */
		participant: Jid,
		presence: T.Union(PRESENCES.map((s) => T.Literal(s))),
		/** When they were last online (epoch seconds), when they show it. */
		lastSeen: T.Optional(EpochSeconds),
	}),
} satisfies Record<string, TSchema>

export type ChatState = (typeof CHAT_STATES)[number]
export type OwnPresence = (typeof OWN_PRESENCES)[number]
export type PresenceUpdate = Static<(typeof PresenceEventData)['session.presence.updated']>
