import type { Treaty } from '@elysiajs/eden'
import type { api } from './api'
import { formsOf, sameOne } from './jids'
import type { RealtimeEvent } from './realtime'

/**
 * A contacts list kept live: contacts that events name are merged into the loaded rows as the
 * server merges them into its own, and placed where the server's order puts them.
 */

export type Contact = Treaty.Data<ReturnType<typeof api.contacts.get>>['items'][number]
export type ContactChange = Extract<RealtimeEvent, { type: 'session.contacts.upsert' }>['data']['contacts'][number]

/** A name folded as the server folds it for its order and its search: lower case, accents off. */
const fold = (text: string) =>
	text
		.toLowerCase()
		.normalize('NFD')
		.replace(/[\u0300-\u036f]/g, '')

/** The server's order: by folded shown name, then JID; contacts without a name last. */
export function contactOrder(a: Contact, b: Contact): number {
	const ka = a.displayName === null ? null : fold(a.displayName)
	const kb = b.displayName === null ? null : fold(b.displayName)
	if (ka !== kb) return ka === null ? 1 : kb === null ? -1 : ka < kb ? -1 : 1
	return a.jid < b.jid ? -1 : a.jid > b.jid ? 1 : 0
}

/** Whether the server's search `q` finds the contact: in a name, folded or not, or ≥ 3 digits in a JID. */
function matches(c: Contact, q: string): boolean {
	if (!q) return true
	const digits = q.replace(/\D/g, '')
	if (digits.length >= 3 && formsOf(c).some((j) => j.includes(digits))) return true
	const lower = q.toLowerCase()
	return (
		[c.name, c.notify, c.verifiedName].some((n) => n?.toLowerCase().includes(lower)) ||
		(c.displayName !== null && fold(c.displayName).includes(fold(q)))
	)
}

/** A change applied to the row it names (a new row when none does): a name given replaces the old one. */
function merged(existing: Contact | undefined, change: ContactChange): Contact {
	const pn = change.pn ?? (change.jid.endsWith('@s.whatsapp.net') ? change.jid : undefined)
	const lid = change.lid ?? (change.jid.endsWith('@lid') ? change.jid : undefined)
	const name = change.name ?? existing?.name ?? null
	const notify = change.notify ?? existing?.notify ?? null
	const verifiedName = change.verifiedName ?? existing?.verifiedName ?? null
	const pnJid = existing?.pnJid ?? pn ?? null
	return {
		jid: pnJid ?? existing?.jid ?? change.jid,
		pnJid,
		lidJid: existing?.lidJid ?? lid ?? null,
		displayName: name ?? notify ?? verifiedName,
		name,
		notify,
		verifiedName,
		imgUrl: change.imgUrl ?? existing?.imgUrl ?? null,
	}
}

/**
 * The list with these changes applied, for search `q`. `more` says whether the server has rows
 * after the loaded ones: then a new contact is shown only where it sorts among them, and a later
 * page brings the others.
 */
export function withChanges(list: readonly Contact[], changes: readonly ContactChange[], { q, more }: { q: string; more: boolean }): Contact[] {
	let next = [...list]
	for (const change of changes) {
		const forms = [change.jid, change.pn, change.lid].filter(Boolean)
		const existing = next.find((c) => formsOf(c).some((j) => forms.includes(j)))
		const contact = merged(existing, change)
		const last = next.at(-1)
		// A row already shown stays, renamed or not: it does not vanish while it is looked at.
		const shown = Boolean(existing) || (matches(contact, q) && (!more || !last || contactOrder(contact, last) < 0))
		next = next.filter((c) => c !== existing)
		if (shown) next.push(contact)
	}
	return next.sort(contactOrder)
}

/** A further page after the loaded rows, without those already shown (a contact placed live may be on it). */
export const withPage = (list: readonly Contact[], page: readonly Contact[]) => [
	...list,
	...page.filter((c) => !list.some((shown) => sameOne(shown, c))),
]
