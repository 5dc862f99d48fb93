import type { CreateGroupOptions, GroupAction, GroupMessageOptions, GroupRole } from './groups'
import type { StandInCore } from './standin'
import { lidJid, pnJid } from './state'

/** A group as a test sees it: its JID and each member's both JIDs and role. */
export interface GroupSnapshot {
	jid: string
	subject: string
	description?: string
	addressing: 'pn' | 'lid'
	inviteCode: string
	members: Array<{ phone: string; jid: string; lid: string; role: GroupRole; phoneHidden: boolean }>
}

/** The group operations of a running stand-in (part of `StandIn`). */
export interface GroupControl {
	/** Creates a group (the owner is its superadmin); its members' companions get a `create` notification unless `notify: false`. */
	createGroup(options: CreateGroupOptions): Promise<GroupSnapshot>
	/** A member who is an admin adds, removes, promotes or demotes members; every member's companions hear of it. */
	changeGroup(options: { group: string; actor: string; action: GroupAction; members: string[] }): Promise<Array<{ phone: string; error?: number }>>
	setGroupSubject(options: { group: string; actor: string; subject: string }): Promise<void>
	setGroupDescription(options: { group: string; actor: string; description: string }): Promise<void>
	/** A LID group's roster shows this member's phone number from now on; the members' companions are told to fetch their groups again. */
	revealGroupPhone(options: { group: string; phone: string }): Promise<void>
	/** A message from a member to the group (plaintext), delivered to every other member's companions. */
	deliverToGroup(options: GroupMessageOptions): Promise<{ id: string; participant: string; participantAlt?: string }>
	group(jid: string): GroupSnapshot
	/** How many times companions asked for the group's metadata (`w:g2` `query`), and for all their groups (`participating`). */
	groupQueries(jid: string): { metadata: number; participating: number }
	/** The group's next `times` metadata queries answer 500 (WhatsApp could not answer now). */
	failGroupQueries(options: { group: string; times: number }): void
}

export function groupControl(core: StandInCore): GroupControl {
	const hub = core.groups
	const snapshot = (jid: string): GroupSnapshot => {
		const group = hub.get(jid)
		return {
			jid: group.jid,
			subject: group.subject,
			description: group.description,
			addressing: group.addressing,
			inviteCode: group.inviteCode,
			members: [...group.members].map(([phone, role]) => {
				const person = core.state.person(phone)
				return { phone, jid: pnJid(person), lid: lidJid(person), role, phoneHidden: group.hiddenPhones.has(phone) }
			}),
		}
	}
	return {
		createGroup: async (options) => snapshot((await hub.create(options)).jid),
		changeGroup: (options) => hub.change(options.group, options.actor, options.action, options.members),
		setGroupSubject: (options) => hub.setSubject(options.group, options.actor, options.subject),
		setGroupDescription: (options) => hub.describe(options.group, options.actor, options.description),
		revealGroupPhone: (options) => hub.revealPhone(options.group, options.phone),
		deliverToGroup: (options) => hub.deliver(options),
		group: snapshot,
		groupQueries: (jid) => ({ metadata: hub.metadataQueries(jid), participating: hub.counters.participating }),
		failGroupQueries: (options) => hub.failQueries(options.group, options.times),
	}
}
