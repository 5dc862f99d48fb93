import {
	areJidsSameUser,
	type BaileysEventMap,
	type GroupMetadata,
	type GroupParticipant,
	isLidUser,
	isPnUser,
	jidNormalizedUser,
	type WASocket,
} from '@whiskeysockets/baileys'
import type { EventData, GroupAction, GroupRole } from '../core/catalogue'
import { SendRefused } from './media/outgoing'

/** One group management operation of a session (the data of its command). */
export type GroupOperation =
	| { op: 'create'; subject: string; participants: string[] }
	| { op: 'edit'; groupJid: string; subject?: string; description?: string }
	| { op: 'participants'; groupJid: string; action: GroupAction; participants: string[] }
	| { op: 'leave'; groupJid: string }
	| { op: 'invite'; groupJid: string; revoke?: boolean }

export type GroupResult = EventData<'session.command.completed'>['result']

/** Where people join a group by its invite code. */
export const INVITE_LINK_BASE = 'https://chat.whatsapp.com/'

/**
 * Group metadata the session has seen, kept current by the group events: Baileys' `cachedGroupMetadata`
 * answers a send to a group from it, so a send does not fetch the roster (one iq, and for a big
 * group a big answer) every time. Filled on connect by fetching every group the account is in.
 */
export class GroupCache {
	private readonly groups = new Map<string, GroupMetadata>()

	get(jid: string): GroupMetadata | undefined {
		return this.groups.get(jid)
	}

	get size(): number {
		return this.groups.size
	}

	/** A member's role in a group the cache knows; none for a group or member it does not. */
	roleOf(groupJid: string, jid: string): GroupRole | undefined {
		const member = this.groups.get(groupJid)?.participants.find((p) => p.id === jid)
		if (!member) return undefined
		return member.admin ?? 'member'
	}

	/** Applies one batch of Baileys events, in the order Baileys would have. */
	apply(events: Partial<BaileysEventMap>): void {
		for (const meta of events['groups.upsert'] ?? []) this.groups.set(meta.id, meta)
		for (const update of events['groups.update'] ?? []) {
			if (!update.id) continue
			const known = this.groups.get(update.id)
			if (Array.isArray(update.participants)) this.groups.set(update.id, { ...known, ...(update as GroupMetadata) })
			else if (known) this.groups.set(update.id, { ...known, ...withoutUndefined(update) })
		}
		const change = events['group-participants.update']
		const group = change && this.groups.get(change.id)
		if (!change || !group) return
		const ids = new Set((change.participants as Array<GroupParticipant | string>).map((p) => (typeof p === 'string' ? p : p.id)))
		let participants = group.participants
		switch (change.action) {
			case 'add':
				participants = [
					...participants.filter((p) => !ids.has(p.id)),
					...(change.participants as Array<GroupParticipant | string>).map((p) =>
						typeof p === 'string' ? { id: p, admin: null } : { ...p, admin: null },
					),
				]
				break
			case 'remove':
				participants = participants.filter((p) => !ids.has(p.id))
				break
			case 'promote':
			case 'demote':
				// The creator stays superadmin: WhatsApp's roster keeps it through a promote or demote.
				participants = participants.map((p) =>
					ids.has(p.id) && p.admin !== 'superadmin' ? { ...p, admin: change.action === 'promote' ? 'admin' : null } : p,
				)
				break
		}
		this.groups.set(change.id, { ...group, participants, size: participants.length })
	}

	/**
	 * The group a batch says the account joined. WhatsApp announces an add of the account as a
	 * participant change naming only the added (Baileys emits no `groups.upsert` for it, unlike a
	 * group created with the account in it): its metadata must be fetched. So must a group the cache
	 * knows already: the account left it or was removed, and what changed meanwhile was not told.
	 */
	joined(events: Partial<BaileysEventMap>, me: Array<string | null | undefined>): string | undefined {
		const change = events['group-participants.update']
		if (change?.action !== 'add') return undefined
		const isMe = (jid: string | null | undefined) => !!jid && me.some((own) => own && areJidsSameUser(own, jid))
		const named = (change.participants as Array<GroupParticipant | string>).some((p) =>
			typeof p === 'string' ? isMe(p) : isMe(p.id) || isMe(p.lid) || isMe(p.phoneNumber),
		)
		return named ? change.id : undefined
	}

	/** LID ↔ phone pairs the rosters of a batch show, for Baileys' own mapping store. */
	static pairs(events: Partial<BaileysEventMap>): Array<{ lid: string; pn: string }> {
		const out: Array<{ lid: string; pn: string }> = []
		const visit = (p: Partial<GroupParticipant> | string) => {
			if (typeof p === 'string' || !p.id) return
			const lid = isLidUser(p.id) ? p.id : p.lid
			const pn = isPnUser(p.id) ? p.id : p.phoneNumber
			if (lid && pn && isLidUser(lid) && isPnUser(pn)) out.push({ lid: jidNormalizedUser(lid), pn: jidNormalizedUser(pn) })
		}
		for (const meta of [...(events['groups.upsert'] ?? []), ...(events['groups.update'] ?? [])]) for (const p of meta.participants ?? []) visit(p)
		for (const p of (events['group-participants.update']?.participants ?? []) as Array<GroupParticipant | string>) visit(p)
		return out
	}
}

function withoutUndefined<T extends object>(o: T): Partial<T> {
	return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>
}

/** WhatsApp's answer codes to group iqs, as the reasons a command fails with. */
const REASONS: Record<number, { code: string; what: string }> = {
	400: { code: 'group_bad_request', what: 'WhatsApp refused the request as malformed' },
	401: { code: 'group_not_admin', what: 'this account is not an admin of the group' },
	403: { code: 'group_not_member', what: 'this account is not a member of the group' },
	404: { code: 'group_not_found', what: 'WhatsApp knows no such group' },
	406: { code: 'group_not_acceptable', what: 'WhatsApp did not accept the change' },
	409: { code: 'group_conflict', what: 'the change conflicts with the group as it is' },
}

/**
 * A Boom from a group iq carries WhatsApp's answer code in `data` (Baileys' `query` turns the
 * error node into it) or, from metadata reads, in `output.statusCode`. A send to a group reads the
 * group's members first, so its refusals come the same way.
 */
export function groupRefusal(err: unknown): SendRefused | undefined {
	const boom = err as { isBoom?: boolean; data?: unknown; message?: string; output?: { statusCode?: number } }
	if (!boom?.isBoom) return undefined
	const code = typeof boom.data === 'number' ? boom.data : (boom.data as { attrs?: { code?: string } })?.attrs?.code
	const status = Number(code ?? boom.output?.statusCode)
	const reason = REASONS[status]
	if (!reason) return undefined
	return new SendRefused(reason.code, `${reason.what} (WhatsApp answered ${status} ${boom.message ?? ''})`.trim())
}

/** Runs one group operation on a connected socket; a refusal by WhatsApp throws SendRefused with its reason. */
export async function runGroupOperation(sock: WASocket, operation: GroupOperation): Promise<GroupResult> {
	try {
		switch (operation.op) {
			case 'create': {
				const meta = await sock.groupCreate(operation.subject, operation.participants)
				return { groupJid: meta.id }
			}
			case 'edit':
				if (operation.subject !== undefined) await sock.groupUpdateSubject(operation.groupJid, operation.subject)
				if (operation.description !== undefined) await sock.groupUpdateDescription(operation.groupJid, operation.description || undefined)
				return { groupJid: operation.groupJid }
			case 'participants': {
				const results = await sock.groupParticipantsUpdate(operation.groupJid, operation.participants, operation.action)
				return {
					groupJid: operation.groupJid,
					participants: results.map((r) => ({ jid: r.jid ? jidNormalizedUser(r.jid) : '', status: String(r.status) })).filter((r) => r.jid),
				}
			}
			case 'leave':
				await sock.groupLeave(operation.groupJid)
				return { groupJid: operation.groupJid }
			case 'invite': {
				const code = operation.revoke ? await sock.groupRevokeInvite(operation.groupJid) : await sock.groupInviteCode(operation.groupJid)
				if (!code) throw new SendRefused('group_invite_unavailable', 'WhatsApp gave no invite code for the group')
				return { groupJid: operation.groupJid, inviteCode: code, inviteLink: `${INVITE_LINK_BASE}${code}` }
			}
		}
	} catch (err) {
		throw groupRefusal(err) ?? err
	}
}
