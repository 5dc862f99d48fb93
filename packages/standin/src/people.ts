import { randomInt } from 'node:crypto'
import { writeFile } from 'node:fs/promises'
import { getAllBinaryNodeChildren, getBinaryNodeChild, jidDecode, type BinaryNode } from '@whiskeysockets/baileys'
import type { Connection } from './connection'
import type { EventLog } from './events'
import type { MediaCdn } from './media/cdn'
import { normalizePhone, type StandInState } from './state'

/** What a contact shows: online or not, typing, recording a voice note, or stopped typing. */
export type PresenceState = 'available' | 'unavailable' | 'typing' | 'recording' | 'paused'

/** A presence stanza a companion sent, as the stand-in recorded it. */
export interface CompanionPresence {
	device: string
	/** `presence`: its own availability; `chatstate`: typing… in a chat; `subscribe`: asks for a contact's presence. */
	kind: 'presence' | 'chatstate' | 'subscribe'
	/** The chat (chatstate) or the contact (subscribe). */
	to?: string
	/** `available` / `unavailable`, or `composing` / `recording` / `paused`. */
	state?: string
	/** The name a companion announces with its availability. */
	name?: string
}

type Picture = { id: string; url: string; directPath: string; hidden: boolean }

/** What the people side needs of the stand-in's core. */
export interface PeopleHost {
	readonly state: StandInState
	readonly log: EventLog
	readonly cdn: MediaCdn
	/** The live, logged-in connections of an account's companions (phone number). */
	connectionsOf(phone: string): Connection[]
}

/**
 * People as WhatsApp shows them to a companion: whether a number has an account (usync
 * `contact`), their profile pictures (`w:profile:picture`, the image served by the media CDN, as
 * WhatsApp serves them from its own), and their presence (delivered to the companions that
 * subscribed to it). Every number is on WhatsApp unless the control API says otherwise.
 */
export class PeopleHub {
	private readonly unregistered = new Set<string>()
	private readonly pictures = new Map<string, Picture>()
	/** Device JID → the users (phone numbers) and groups whose presence it subscribed to. */
	private readonly subscriptions = new Map<string, Set<string>>()

	constructor(private readonly host: PeopleHost) {}

	isOnWhatsApp(phone: string): boolean {
		return !this.unregistered.has(normalizePhone(phone))
	}

	/** Whether a number has a WhatsApp account: usync `contact` answers `out` for one that has not. */
	setOnWhatsApp(phone: string, registered: boolean): void {
		const digits = normalizePhone(phone)
		if (registered) this.unregistered.delete(digits)
		else this.unregistered.add(digits)
	}

	/** Logs the numbers a usync query asks about with the `contact` protocol (a number check). */
	noteLookup(connection: Connection, iq: BinaryNode): void {
		const list = getBinaryNodeChild(getBinaryNodeChild(iq, 'usync'), 'list')
		const phones = (list ? getAllBinaryNodeChildren(list) : []).flatMap((user) => {
			const contact = getBinaryNodeChild(user, 'contact')?.content
			return contact ? [Buffer.from(contact as Uint8Array).toString()] : []
		})
		if (phones.length) this.host.log.emit({ type: 'number-lookup', device: connection.device?.jid, phones })
	}

	/**
	 * A user's (phone number) or group's (…@g.us) profile picture: the image bytes, or null for none.
	 * `hidden`: the picture exists but is shown to nobody (its owner's privacy settings): the IQ is
	 * refused with 401, as WhatsApp refuses it.
	 */
	async setPicture(target: string, image: Uint8Array | null, options: { hidden?: boolean } = {}): Promise<{ url: string } | null> {
		const key = this.keyOf(target)
		if (!image) {
			this.pictures.delete(key)
			return null
		}
		const file = this.host.cdn.newFile('jpg')
		await writeFile(file, image)
		const { directPath, url } = this.host.cdn.publish({ file, size: image.byteLength }, 'profile')
		this.pictures.set(key, { id: String(randomInt(10 ** 9, 2 ** 31)), url, directPath, hidden: !!options.hidden })
		return { url }
	}

	/** `<iq xmlns="w:profile:picture" target=…>`: the picture's URL, 404 item-not-found without one, 401 when hidden. */
	answerPicture(iq: BinaryNode): { ok: BinaryNode[] } | { error: [number, string] } {
		const target = iq.attrs.target ?? ''
		let key: string
		try {
			key = this.keyOf(target)
		} catch {
			return { error: [400, 'bad-request'] }
		}
		const picture = this.pictures.get(key)
		if (!picture) return { error: [404, 'item-not-found'] }
		if (picture.hidden) return { error: [401, 'not-authorized'] }
		return {
			ok: [{ tag: 'picture', attrs: { id: picture.id, type: 'image', url: picture.url, direct_path: picture.directPath } }],
		}
	}

	/** A `<presence>` from a companion: its own availability, or a subscription to someone's. */
	onPresence(connection: Connection, node: BinaryNode): void {
		const device = connection.device?.jid
		if (!device) return
		if (node.attrs.type === 'subscribe' && node.attrs.to) {
			const subscribed = this.subscriptions.get(device) ?? new Set<string>()
			subscribed.add(this.keyOf(node.attrs.to))
			this.subscriptions.set(device, subscribed)
			this.host.log.emit({ type: 'presence', presence: { device, kind: 'subscribe', to: node.attrs.to } })
			return
		}
		this.host.log.emit({
			type: 'presence',
			presence: { device, kind: 'presence', state: node.attrs.type ?? 'available', ...(node.attrs.name ? { name: node.attrs.name } : {}) },
		})
	}

	/** A `<chatstate>` from a companion: typing, recording or paused in a chat. */
	onChatstate(connection: Connection, node: BinaryNode): void {
		const device = connection.device?.jid
		const [child] = getAllBinaryNodeChildren(node)
		if (!device || !child) return
		const state = child.tag === 'composing' && child.attrs.media === 'audio' ? 'recording' : child.tag
		this.host.log.emit({ type: 'presence', presence: { device, kind: 'chatstate', to: node.attrs.to, state } })
	}

	/**
	 * The contact `from` shows `state`: the account's companions that subscribed to it hear of it
	 * (`<presence>` for availability, `<chatstate>` for typing). Answers how many connections got it.
	 */
	sendPresence(options: { to: string; from: string; state: PresenceState; lastSeen?: number }): number {
		const contact = this.host.state.person(options.from)
		const from = `${contact.phone}@s.whatsapp.net`
		const node: BinaryNode =
			options.state === 'available' || options.state === 'unavailable'
				? {
						tag: 'presence',
						attrs: {
							from,
							...(options.state === 'unavailable' ? { type: 'unavailable' } : {}),
							...(options.lastSeen !== undefined ? { last: String(options.lastSeen) } : {}),
						},
					}
				: {
						tag: 'chatstate',
						attrs: { from },
						content: [
							options.state === 'recording'
								? { tag: 'composing', attrs: { media: 'audio' } }
								: { tag: options.state === 'typing' ? 'composing' : 'paused', attrs: {} },
						],
					}
		let delivered = 0
		for (const connection of this.host.connectionsOf(options.to)) {
			if (!this.subscriptions.get(connection.device?.jid ?? '')?.has(contact.phone)) continue
			connection.send(node)
			delivered++
		}
		return delivered
	}

	/** A user's phone number (from a phone number, a phone JID or a LID JID), or a group's JID. */
	private keyOf(target: string): string {
		const decoded = jidDecode(target)
		if (decoded?.server === 'g.us') return target
		if (decoded?.server === 'lid') {
			const person = this.host.state.personByJid(target)
			if (!person) throw new Error(`unknown LID ${target}`)
			return person.phone
		}
		return normalizePhone(target)
	}
}
