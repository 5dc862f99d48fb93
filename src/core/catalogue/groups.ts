import { Type as T, type Static } from '@sinclair/typebox'
import { EpochSeconds, INT32_MAX, Jid } from './shapes-base'

/** What WhatsApp calls a member's `admin` attribute; no attribute is a plain member. */
export const GROUP_ROLES = ['member', 'admin', 'superadmin'] as const
export const GroupRole = T.Union(GROUP_ROLES.map((r) => T.Literal(r)))
export type GroupRole = Static<typeof GroupRole>

/** Members one group takes at most (WhatsApp's limit); events and commands are capped at it. */
export const GROUP_SIZE_MAX = 1024
/**
 * The most members a roster the catalogue carries may list: a group this account creates or
 * changes holds GROUP_SIZE_MAX, but a community's announcement group holds several thousand, and a
 * roster WhatsApp sends is taken whole.
 */
export const GROUP_ROSTER_MAX = 10_000
export const GROUP_SUBJECT_MAX = 100
export const GROUP_DESCRIPTION_MAX = 2048

/**
 * A member as the group names it: `jid` is the id the group uses (its LID in a LID-addressed group,
 * its phone JID otherwise); `lid` / `pn` carry the other form when WhatsApp showed it.
 */
export const GroupParticipant = T.Object({
	jid: Jid,
	lid: T.Optional(Jid),
	pn: T.Optional(Jid),
	role: T.Optional(GroupRole),
})
export type GroupParticipant = Static<typeof GroupParticipant>

/**
 * A group's metadata. In `session.groups.upsert` it is the whole group as WhatsApp answered it
 * (`participants` the whole roster); in `session.groups.update` only what changed. An empty
 * `description` means it was removed.
 */
export const Group = T.Object({
	jid: Jid,
	subject: T.Optional(T.String({ maxLength: 1024 })),
	description: T.Optional(T.String({ maxLength: 8192 })),
	/** The creator, as the group names it, and its phone JID when shown. */
	owner: T.Optional(Jid),
	ownerPn: T.Optional(Jid),
	size: T.Optional(T.Integer({ minimum: 0 })),
	/** Only admins send messages. */
	announce: T.Optional(T.Boolean()),
	/** Only admins edit the group's info. */
	restrict: T.Optional(T.Boolean()),
	/** Disappearing messages timer in seconds; 0 when off. */
	ephemeral: T.Optional(T.Integer({ minimum: 0, maximum: INT32_MAX })),
	addressingMode: T.Optional(T.Union([T.Literal('pn'), T.Literal('lid')])),
	createdAt: T.Optional(EpochSeconds),
	participants: T.Optional(T.Array(GroupParticipant, { maxItems: GROUP_ROSTER_MAX })),
	/** Who made the change (updates). */
	author: T.Optional(Jid),
})
export type Group = Static<typeof Group>

export const GROUP_ACTIONS = ['add', 'remove', 'promote', 'demote'] as const
export const GroupAction = T.Union(GROUP_ACTIONS.map((a) => T.Literal(a)))
export type GroupAction = Static<typeof GroupAction>
