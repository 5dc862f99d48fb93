import { jidDecode, jidNormalizedUser, type BaileysEventMap, type Contact, type WAMessageUpdate, type WASocket } from '@whiskeysockets/baileys'
import type { DisconnectData, WhatsAppEvent } from './port'

/** Small pieces around a Baileys socket that the session's state machine uses. */

/** The `session.status.connected` event of the account the creds say is logged in (`creds.me`). */
export function connected(me: Contact): WhatsAppEvent & { type: 'session.status.connected' } {
	const event: WhatsAppEvent & { type: 'session.status.connected' } = { type: 'session.status.connected', data: { jid: jidNormalizedUser(me.id) } }
	if (me.lid) event.data.lid = jidNormalizedUser(me.lid)
	const user = jidDecode(me.id)?.user
	if (user) event.data.phoneNumber = user
	if (me.name && me.name !== '~') event.data.name = me.name
	return event
}

/** A `session.status.disconnected` event, its message cut to what the catalogue takes. */
export function disconnected(
	status: DisconnectData['status'],
	reason: string,
	{ code, message }: { code?: number; message?: string },
): WhatsAppEvent & { type: 'session.status.disconnected' } {
	const data: DisconnectData = { status, reason }
	if (typeof code === 'number' && Number.isInteger(code)) data.code = code
	if (message) data.message = message.slice(0, 2048)
	return { type: 'session.status.disconnected', data }
}

/**
 * Baileys' event buffer folds a `messages.update` into a still-buffered upsert of the same message
 * with `Object.assign`, and a receipt's update carries the receipt's time as `messageTimestamp`: the
 * message would take the receipt's time. Receipts lose that field before they reach the buffer.
 */
export function keepMessageTimestamps(sock: WASocket) {
	const ev = sock.ev
	const emit = ev.emit.bind(ev)
	ev.emit = ((event: keyof BaileysEventMap, data: unknown) => {
		if (event === 'messages.update') data = (data as WAMessageUpdate[]).map(withoutReceiptTime)
		return emit(event, data as never)
	}) as typeof ev.emit
}

function withoutReceiptTime(u: WAMessageUpdate): WAMessageUpdate {
	if (u.update?.status === undefined || u.update.message || !('messageTimestamp' in u.update)) return u
	const { messageTimestamp: _receiptTime, ...update } = u.update
	return { key: u.key, update }
}

/** LID → phone JID from Baileys' own mapping store (normalised: it answers with a `:0` device). */
export async function resolveLids(sock: WASocket, lids: string[]): Promise<Map<string, string>> {
	const out = new Map<string, string>()
	await Promise.all(
		lids.map(async (lid) => {
			try {
				const pn = await sock.signalRepository.lidMapping.getPNForLID(lid)
				if (pn) out.set(lid, jidNormalizedUser(pn))
			} catch {
				// Unknown mapping: the event goes out with the LID alone.
			}
		}),
	)
	return out
}

/** A bare number is a phone number; anything with a server part is taken as given. */
export function toJid(to: string): string {
	return to.includes('@') ? to : `${to.replace(/\D/g, '')}@s.whatsapp.net`
}
