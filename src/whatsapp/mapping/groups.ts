import type { BaileysEventMap, GroupMetadata, GroupParticipant as BaileysParticipant } from '@whiskeysockets/baileys'
import { GROUP_ACTIONS, GROUP_ROSTER_MAX, INT32_MAX, type Group, type GroupAction, type GroupParticipant, type GroupRole } from '../../core/catalogue'
import type { WhatsAppEvent } from '../port'
import { chunk, clip, isJid, type MappingContext, positiveWhole, seconds, userJid } from './common'
import { identity, mapChat } from './people'

/** Participants per `session.groups.upsert`: a fetch of every group is split so no event grows too big. */
const PARTICIPANTS_PER_EVENT = 2000

const isGroupJid = (jid: string | null | undefined): jid is string => isJid(jid) && jid.endsWith('@g.us')

/** A member as Baileys reads it (an object in Baileys 7; a bare JID from older paths). */
export function mapParticipant(p: Partial<BaileysParticipant> | string): GroupParticipant | undefined {
	const entry = typeof p === 'string' ? { id: p } : p
	const jid = userJid(entry.id)
	if (!jid) return undefined
	const out: GroupParticipant = { jid, ...identity(jid, entry.lid, entry.phoneNumber) }
	if (entry.admin === 'admin' || entry.admin === 'superadmin') out.role = entry.admin
	else if ('admin' in entry) out.role = 'member'
	return out
}

/** Group metadata as the catalogue carries it; with `participants` only when Baileys gave the whole roster. */
export function mapGroup(meta: Partial<GroupMetadata>): Group | undefined {
	if (!isGroupJid(meta.id)) return undefined
	const out: Group = { jid: meta.id }
	const subject = clip(meta.subject, 1024)
	if (subject !== undefined) out.subject = subject
	// A removed description comes as `desc` present and empty (undefined in a change, none in metadata).
	if ('desc' in meta) out.description = typeof meta.desc === 'string' ? meta.desc.slice(0, 8192) : ''
	const owner = userJid(meta.owner)
	if (owner) out.owner = owner
	const ownerPn = userJid(meta.ownerPn)
	if (ownerPn) out.ownerPn = ownerPn
	if (typeof meta.size === 'number' && Number.isInteger(meta.size) && meta.size >= 0 && meta.size <= INT32_MAX) out.size = meta.size
	if (typeof meta.announce === 'boolean') out.announce = meta.announce
	if (typeof meta.restrict === 'boolean') out.restrict = meta.restrict
	if (typeof meta.ephemeralDuration === 'number') out.ephemeral = positiveWhole(meta.ephemeralDuration) ?? 0
	if (meta.addressingMode === 'lid' || meta.addressingMode === 'pn') out.addressingMode = meta.addressingMode
	const created = seconds(meta.creation)
	if (created) out.createdAt = created
	if (Array.isArray(meta.participants)) out.participants = meta.participants.flatMap((p) => mapParticipant(p) ?? []).slice(0, GROUP_ROSTER_MAX)
	const author = userJid(meta.author)
	if (author) out.author = author
	return out
}

/**
 * Baileys' group events → the session's group events. A `groups.update` that carries a roster is
 * a whole group (Baileys emits the result of fetching every group that way): an upsert.
 */
export function mapGroupEvents(events: Partial<BaileysEventMap>, ctx: MappingContext = {}): WhatsAppEvent[] {
	const out: WhatsAppEvent[] = []
	const whole: Group[] = []
	const changes: Group[] = []
	for (const meta of events['groups.upsert'] ?? []) {
		const group = mapGroup(meta)
		if (group) whole.push(group)
	}
	for (const meta of events['groups.update'] ?? []) {
		const group = mapGroup(meta)
		if (group) (group.participants ? whole : changes).push(group)
	}
	let part: Group[] = []
	let size = 0
	for (const group of whole) {
		const n = group.participants?.length ?? 0
		if (part.length && (size + n > PARTICIPANTS_PER_EVENT || part.length >= 1000)) {
			out.push({ type: 'session.groups.upsert', data: { groups: part } })
			part = []
			size = 0
		}
		part.push(group)
		size += n
	}
	if (part.length) out.push({ type: 'session.groups.upsert', data: { groups: part } })
	if (changes.length) out.push({ type: 'session.groups.update', data: { updates: changes } })
	// Every group the account is in is a chat, named by its subject, as WhatsApp's apps list it:
	// one joined (or fetched) before anyone wrote in it too, and one renamed while the account was out.
	const chats = [...whole, ...changes.filter((g) => g.subject !== undefined)].flatMap((g) => mapChat({ id: g.jid, name: g.subject }) ?? [])
	for (const part of chunk(chats)) out.push({ type: 'session.chats.upsert', data: { chats: part } })
	const change = events['group-participants.update']
	if (change && isGroupJid(change.id) && (GROUP_ACTIONS as readonly string[]).includes(change.action)) {
		const action = change.action as GroupAction
		const participants = (change.participants as Array<BaileysParticipant | string>).flatMap((p) => {
			const mapped = mapParticipant(p)
			if (!mapped) return []
			const { role: _, ...member } = mapped
			return action === 'remove' ? [member] : [{ ...member, role: roleAfter(action, ctx.groupRoleOf?.(change.id, member.jid)) }]
		})
		const author = userJid(change.author)
		for (const part of chunk(participants, GROUP_ROSTER_MAX))
			out.push({
				type: 'session.group_participants.update',
				data: { groupJid: change.id, action, participants: part, ...(author ? { author } : {}) },
			})
	}
	return out
}

/**
 * A member's role after an add, promote or demote. WhatsApp's notice names the members without
 * their role (Baileys reads `admin: null`): the action gives it, except that the creator stays
 * superadmin, as WhatsApp's roster keeps it.
 */
function roleAfter(action: Exclude<GroupAction, 'remove'>, known: GroupRole | undefined): GroupRole {
	if (known === 'superadmin' && action !== 'add') return known
	return action === 'promote' ? 'admin' : 'member'
}
