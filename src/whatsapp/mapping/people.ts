import { isLidUser, isPnUser, type Chat as BaileysChat, type Contact as BaileysContact } from '@whiskeysockets/baileys'
import { type Chat, type Contact, INT32_MAX, type LidPnMapping } from '../../core/catalogue'
import { clip, isJid, seconds, userJid } from './common'

/** Both forms of an identity from an id and what else is known about it. */
export function identity(id: string, lid: string | null | undefined, pn: string | null | undefined) {
	const out: { lid?: string; pn?: string } = {}
	const l = userJid(lid) ?? (isLidUser(id) ? id : undefined)
	const p = userJid(pn) ?? (isPnUser(id) ? id : undefined)
	if (l && isLidUser(l)) out.lid = l
	if (p && isPnUser(p)) out.pn = p
	return out
}

export function mapContact(c: Partial<BaileysContact>): Contact | undefined {
	const jid = userJid(c.id)
	if (!jid) return undefined
	const out: Contact = { jid, ...identity(jid, c.lid, c.phoneNumber) }
	const name = clip(c.name)
	const notify = clip(c.notify)
	const verifiedName = clip(c.verifiedName)
	if (name) out.name = name
	if (notify) out.notify = notify
	if (verifiedName) out.verifiedName = verifiedName
	// 'changed' and null are markers ("look it up again", "no picture"), not URLs.
	if (c.imgUrl && /^https?:\/\//.test(c.imgUrl) && c.imgUrl.length <= 2048) out.imgUrl = c.imgUrl
	return out
}

/**
 * A chat from `chats.upsert` / history (`update: false`) or `chats.update` (`update: true`). In
 * updates Baileys sends `unreadCount` as an increment per new message (its buffer sums them), so
 * only 0 — "marked read" — is an absolute value there; the projection counts the received
 * messages itself, from the messages it stores.
 */
export function mapChat(c: Partial<BaileysChat>, { update = false } = {}): Chat | undefined {
	const jid = isJid(c.id) ? c.id : undefined
	if (!jid) return undefined
	const out: Chat = { jid, ...identity(jid, c.lidJid, c.pnJid) }
	const name = clip(c.name ?? c.displayName)
	if (name) out.name = name
	const unread = c.unreadCount
	if (typeof unread === 'number' && Number.isInteger(unread) && (update ? unread === 0 : unread >= 0 && unread <= INT32_MAX)) out.unreadCount = unread
	if (typeof c.archived === 'boolean') out.archived = c.archived
	const last = seconds(c.conversationTimestamp) || seconds(c.lastMessageRecvTimestamp)
	if (last) out.lastMessageAt = last
	return out
}

export function mapLidMappings(mappings: readonly { lid?: string | null; pn?: string | null }[] | null | undefined): LidPnMapping[] {
	const out: LidPnMapping[] = []
	for (const m of mappings ?? []) {
		const lid = userJid(m.lid)
		const pn = userJid(m.pn)
		if (lid && pn && isLidUser(lid) && isPnUser(pn)) out.push({ lid, pn })
	}
	return out
}
