import { type WASocket, jidDecode, jidNormalizedUser, USyncQuery, USyncUser } from '@whiskeysockets/baileys'
import type { ChatState, OwnPresence, PresenceUpdate } from '../core/catalogue'
import type { NumberCheck } from './port'

/** People through a Baileys socket: number checks, profile pictures, presence. */

/**
 * One usync query with the `contact` and `lid` protocols for every number. Baileys' own
 * `onWhatsApp` asks without `lid` and leaves out the numbers that have no account; this answers
 * every number as asked.
 */
export async function checkNumbers(sock: WASocket, phoneNumbers: readonly string[]): Promise<NumberCheck[]> {
	const query = new USyncQuery().withContactProtocol().withLIDProtocol()
	for (const phone of phoneNumbers) query.withUser(new USyncUser().withPhone(`+${phone}`))
	const result = await sock.executeUSyncQuery(query)
	const found = new Map<string, { id: string; contact?: unknown; lid?: unknown }>()
	for (const user of result?.list ?? []) {
		const digits = jidDecode(user.id)?.user
		if (digits) found.set(digits, user)
	}
	return phoneNumbers.map((phoneNumber) => {
		const user = found.get(phoneNumber)
		if (user?.contact !== true) return { phoneNumber, exists: false }
		const lid = typeof user.lid === 'string' && user.lid ? jidNormalizedUser(user.lid) : undefined
		return { phoneNumber, exists: true, jid: jidNormalizedUser(user.id), ...(lid ? { lid } : {}) }
	})
}

/**
 * WhatsApp's refusals of a picture query that mean "no picture for you": none (404), hidden (401),
 * or a JID it knows no one by (400, a LID it never gave this account, say).
 */
const NO_PICTURE = new Set([400, 401, 404])

/** The URL of the full-size picture, or null when the user or group has none or does not show it. */
export async function pictureUrl(sock: WASocket, jid: string): Promise<string | null> {
	try {
		return (await sock.profilePictureUrl(jid, 'image')) ?? null
	} catch (err) {
		// An error stanza becomes a Boom with WhatsApp's code as `data` (its statusCode says 500).
		if (NO_PICTURE.has(Number((err as { data?: unknown }).data))) return null
		throw err
	}
}

/** Baileys' names: `composing` is typing; `recording` and `paused` as they are. */
export async function sendPresence(sock: WASocket, state: ChatState | OwnPresence, to?: string): Promise<void> {
	if (state === 'available' || state === 'unavailable') return await sock.sendPresenceUpdate(state)
	if (!to) throw new Error(`a chat state (${state}) needs the chat`)
	await sock.sendPresenceUpdate(state === 'typing' ? 'composing' : state, to)
}

/** Baileys' `presence.update` → one update per participant. `paused` arrives as `available` (Baileys maps it so). */
export function mapPresence(update: { id: string; presences: Record<string, { lastKnownPresence: string; lastSeen?: number }> }): PresenceUpdate[] {
	const out: PresenceUpdate[] = []
	for (const [participant, p] of Object.entries(update.presences)) {
		const presence =
			p.lastKnownPresence === 'composing'
				? 'typing'
				: p.lastKnownPresence === 'recording' || p.lastKnownPresence === 'unavailable'
					? p.lastKnownPresence
					: 'available'
		out.push({
			chatJid: jidNormalizedUser(update.id),
			participant: jidNormalizedUser(participant),
			presence,
			...(typeof p.lastSeen === 'number' && Number.isFinite(p.lastSeen) && p.lastSeen > 0 ? { lastSeen: Math.floor(p.lastSeen) } : {}),
		})
	}
	return out
}
