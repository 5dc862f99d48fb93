import type { Command } from '../../core/catalogue'
import type { GroupOperation } from '../../whatsapp/groups'

type GroupCommand = Extract<
	Command,
	{
		type: 'session.groups.create' | 'session.groups.edit' | 'session.group_participants.change' | 'session.groups.leave' | 'session.group_invite.get'
	}
>

export const GROUP_COMMANDS = new Set<string>([
	'session.groups.create',
	'session.groups.edit',
	'session.group_participants.change',
	'session.groups.leave',
	'session.group_invite.get',
])

export const isGroupCommand = (cmd: Command): cmd is GroupCommand => GROUP_COMMANDS.has(cmd.type)

/**
 * The group operation a command asks for. Group commands are safe to run again when the bus
 * redelivers one: a rename or a role change sets what is already set, an add of a member answers
 * 409 for them, a second create makes a second group (as a client retrying a create would).
 */
export function groupOperation(cmd: GroupCommand): GroupOperation {
	switch (cmd.type) {
		case 'session.groups.create':
			return { op: 'create', subject: cmd.data.subject, participants: cmd.data.participants }
		case 'session.groups.edit':
			return { op: 'edit', groupJid: cmd.data.groupJid, subject: cmd.data.subject, description: cmd.data.description }
		case 'session.group_participants.change':
			return { op: 'participants', groupJid: cmd.data.groupJid, action: cmd.data.action, participants: cmd.data.participants }
		case 'session.groups.leave':
			return { op: 'leave', groupJid: cmd.data.groupJid }
		case 'session.group_invite.get':
			return { op: 'invite', groupJid: cmd.data.groupJid, revoke: cmd.data.revoke }
	}
}
