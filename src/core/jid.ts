/**
 * Recipients as people type them, turned into the JIDs WhatsApp routes by. Only user and group
 * chats are accepted: broadcast lists, newsletters and status are not sendable through the API yet.
 */

const PN_SERVER = 's.whatsapp.net'
const LID_SERVER = 'lid'
const GROUP_SERVER = 'g.us'

const MAX_INPUT = 320

/**
 * Digits of an international phone number (`+1 555-777 0003`, `0044 20 7946 0000`,
 * `(+49) 30/1234567`), or null. E.164 caps numbers at 15 digits; a number that starts with a
 * single 0 is national and cannot be routed without its country code.
 */
export function normalizePhoneNumber(input: string): string | null {
	const s = input.trim()
	if (!s || s.length > 40 || !/^[+\d\s\-.()/]+$/.test(s)) return null
	if ((s.match(/\+/g) ?? []).length > 1 || (s.includes('+') && !/^\(?\+/.test(s))) return null
	let digits = s.replace(/\D/g, '')
	if (!s.includes('+') && digits.startsWith('00')) digits = digits.slice(2)
	if (!/^[1-9]\d{6,14}$/.test(digits)) return null
	return digits
}

/**
 * A user or group JID in the form stored and sent (`<digits>@s.whatsapp.net`, `<digits>@lid`,
 * `<id>@g.us`), or null. `@c.us` is the older spelling of the phone-number server; a device
 * suffix (`:12`) is dropped, since a chat belongs to the user, not to one of their devices.
 */
export function normalizeJid(input: string): string | null {
	const s = input.trim()
	if (!s || s.length > MAX_INPUT) return null
	const at = s.lastIndexOf('@')
	if (at <= 0) return null
	const user = s.slice(0, at)
	const server = s.slice(at + 1).toLowerCase()
	switch (server) {
		case PN_SERVER:
		case 'c.us': {
			const m = /^([1-9]\d{4,19})(?::\d{1,3})?$/.exec(user)
			return m ? `${m[1]}@${PN_SERVER}` : null
		}
		case LID_SERVER: {
			const m = /^(\d{5,20})(?::\d{1,3})?$/.exec(user)
			return m ? `${m[1]}@${LID_SERVER}` : null
		}
		case GROUP_SERVER:
			return /^\d{5,20}(-\d{5,20})?$/.test(user) ? `${user}@${GROUP_SERVER}` : null
		default:
			return null
	}
}

/** A JID, or a phone number as people write it (→ its phone-number JID); null when neither. */
export function normalizeRecipient(input: string): string | null {
	if (input.includes('@')) return normalizeJid(input)
	const digits = normalizePhoneNumber(input)
	return digits ? `${digits}@${PN_SERVER}` : null
}

const isLidJid = (jid: string | undefined): jid is string => !!jid && jid.endsWith(`@${LID_SERVER}`)
export const isPnJid = (jid: string | undefined): jid is string => !!jid && jid.endsWith(`@${PN_SERVER}`)

/**
 * One identity per person: the phone-number JID when the event carries one beside the LID, else
 * the JID as given. Rows are filed under it, so a chat seen by LID and by phone number is one chat.
 */
export const canonicalJid = (jid: string, alt?: string): string => (isLidJid(jid) && isPnJid(alt) ? alt : jid)

/** Both forms of an identity, as far as the given JIDs tell. */
export function jidForms(...jids: (string | undefined)[]): { pn?: string; lid?: string } {
	return { pn: jids.find(isPnJid), lid: jids.find(isLidJid) }
}

export const isGroupJid = (jid: string | undefined): jid is string => !!jid && jid.endsWith(`@${GROUP_SERVER}`)
