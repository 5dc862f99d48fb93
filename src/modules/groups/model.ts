import { Type } from '@sinclair/typebox'
import { t } from 'elysia'
import { GROUP_ACTIONS, GROUP_DESCRIPTION_MAX, GROUP_ROLES, GROUP_SIZE_MAX, GROUP_SUBJECT_MAX } from '../../core/catalogue'
import { Nullable } from '../../lib/schema'
import { PageQuery, SessionIdParams } from '../sessions/model'

const Time = t.String({ format: 'date-time' })
const GroupJid = t.String({ minLength: 1, maxLength: 320, description: 'The group JID (…@g.us)' })
const Person = t.String({
	minLength: 1,
	maxLength: 320,
	description: 'A phone-number JID, a LID (…@lid) or a phone number with its country code',
})

export const Group = t.Object({
	jid: t.String({ description: 'The group (…@g.us)' }),
	subject: Nullable(t.String()),
	description: Nullable(t.String()),
	owner: Nullable(t.String({ description: 'Who created it: the phone-number JID when known, else the LID' })),
	// TypeBox's own Integer (see the chats model): Elysia's t.Integer is a transform.
	size: Nullable(Type.Integer({ description: 'Members: the roster when known, else what WhatsApp reported' })),
	announce: Nullable(t.Boolean({ description: 'Only admins send messages' })),
	restrict: Nullable(t.Boolean({ description: "Only admins edit the group's info" })),
	ephemeral: Nullable(Type.Integer({ description: 'Disappearing messages timer in seconds; 0 when off' })),
	addressingMode: Nullable(
		t.UnionEnum(['pn', 'lid'], { description: '`lid`: WhatsApp names the members by LID, and shows phone numbers only where it may' }),
	),
	createdAt: Nullable(Time),
})

export const GroupParticipant = t.Object({
	jid: t.String({ description: 'The member: the phone-number JID when known, else the LID' }),
	pnJid: Nullable(t.String({ description: 'Phone-number JID, when known' })),
	lidJid: Nullable(t.String({ description: 'LID, when known' })),
	role: t.UnionEnum(GROUP_ROLES),
})

export const GroupDetail = t.Composite([Group, t.Object({ participants: t.Array(GroupParticipant) })])

export type Group = typeof Group.static
export type GroupParticipant = typeof GroupParticipant.static
export type GroupDetail = typeof GroupDetail.static

export const CommandAccepted = t.Object({
	commandId: t.String({ description: 'The command: `session.command.completed` or `session.command.failed` carries it as `commandId`' }),
	status: t.Literal('accepted'),
})
export type CommandAccepted = typeof CommandAccepted.static

// No minLength: an empty subject gets the service's INVALID_SUBJECT, as a blank one does.
const Subject = t.String({ maxLength: GROUP_SUBJECT_MAX, description: `1–${GROUP_SUBJECT_MAX} characters, not only whitespace` })

export const groupsModels = {
	Group,
	GroupDetail,
	GroupPage: t.Object({ items: t.Array(Group), nextCursor: Nullable(t.String()) }),
	CommandAccepted,
	CreateGroup: t.Object({
		subject: Subject,
		participants: t.Array(Person, { minItems: 1, maxItems: GROUP_SIZE_MAX - 1, description: 'Who to add besides this account' }),
	}),
	EditGroup: t.Object({
		subject: t.Optional(Subject),
		description: t.Optional(t.String({ maxLength: GROUP_DESCRIPTION_MAX, description: 'Empty removes it' })),
	}),
	ChangeParticipants: t.Object({
		// A union of literals, not t.UnionEnum: Elysia fills an absent UnionEnum field with its first
		// member, and a request without an action would add the people.
		action: t.Union(GROUP_ACTIONS.map((a) => t.Literal(a))),
		participants: t.Array(Person, { minItems: 1, maxItems: GROUP_SIZE_MAX }),
	}),
}

export const GroupListQuery = t.Object(PageQuery)
export const SessionParams = SessionIdParams
export const GroupParams = t.Object({ id: SessionIdParams.properties.id, jid: GroupJid })
