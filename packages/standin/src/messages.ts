import {
	encodeWAMessage,
	getAllBinaryNodeChildren,
	getBinaryNodeChild,
	getBinaryNodeChildren,
	proto,
	unpadRandomMax16,
	type BinaryNode,
} from '@whiskeysockets/baileys'
import type { CompanionReceipt, SentMessage } from './events'
import { lidJid, pnJid, type Device, type Person, type StandInState } from './state'

/** A message the stand-in delivers to the companions of an account. */
export interface Delivery {
	id: string
	from: Person
	/** The account's own phone sent it (history sync, app-state keys): addressed from our own JID. */
	self?: boolean
	message: proto.IMessage
	timestamp: number
	encryption: 'plaintext' | 'signal'
	addressing: 'pn' | 'lid'
	pushName?: string
	category?: string
	/** Stanza attributes of the message's kind (`type`, `edit`) over the defaults. */
	attrs?: Record<string, string>
}

/** The address a stand-in party uses for a companion in its own Signal store. */
export const companionAddress = (device: Device): string => `${device.phone}.${device.deviceId}`

/**
 * Builds the `<message>` stanza for one companion. Phone-number addressing carries `sender_lid`,
 * LID addressing carries `sender_pn` (what Baileys reads into `remoteJidAlt`). Signal messages are
 * encrypted by the sender's own identity, opening a session from the companion's uploaded prekeys
 * on first use, which makes the first ones `pkmsg`.
 */
export async function messageStanza(state: StandInState, device: Device, delivery: Delivery, offline: boolean): Promise<BinaryNode> {
	const { from } = delivery
	const attrs: Record<string, string> = {
		id: delivery.id,
		t: String(delivery.timestamp),
		type: messageType(delivery.message),
	}
	if (delivery.self) {
		attrs.from = pnJid(from)
	} else if (delivery.addressing === 'lid') {
		attrs.from = lidJid(from)
		attrs.sender_pn = pnJid(from)
		attrs.addressing_mode = 'lid'
	} else {
		attrs.from = pnJid(from)
		attrs.sender_lid = lidJid(from)
	}
	if (!delivery.self) attrs.notify = delivery.pushName ?? from.name
	if (delivery.category) attrs.category = delivery.category
	if (offline) attrs.offline = '1'
	Object.assign(attrs, delivery.attrs)

	if (delivery.encryption === 'plaintext') {
		return { tag: 'message', attrs, content: [{ tag: 'plaintext', attrs: {}, content: proto.Message.encode(delivery.message).finish() }] }
	}
	const { type, ciphertext } = await from.party.encryptTo(companionAddress(device), encodeWAMessage(delivery.message), () =>
		state.companionBundle(device),
	)
	state.save()
	return { tag: 'message', attrs, content: [{ tag: 'enc', attrs: { v: '2', type }, content: ciphertext }] }
}

/**
 * A `<message>` the companion sent: recorded with every recipient device, and decrypted with the
 * identity of whichever recipient the stand-in plays (the contact, or the account's own phone,
 * whose copy is a `deviceSentMessage`).
 */
/** Sender keys of group sends: what a companion distributed, and the decryption of its `skmsg`. */
export interface SenderKeys {
	rememberSenderKey(group: string, sender: string, distribution: Uint8Array): void
	decryptGroupMessage(group: string, sender: string, ciphertext: Uint8Array): Promise<proto.IMessage | undefined>
}

export async function readSentMessage(state: StandInState, device: Device, node: BinaryNode, senderKeys?: SenderKeys): Promise<SentMessage> {
	const copies: Array<{ jid: string; enc: BinaryNode }> = []
	const participants = getBinaryNodeChild(node, 'participants')
	if (participants) {
		for (const to of getBinaryNodeChildren(participants, 'to')) {
			const enc = getBinaryNodeChild(to, 'enc')
			if (enc) copies.push({ jid: to.attrs.jid ?? '', enc })
		}
	}
	for (const enc of getBinaryNodeChildren(node, 'enc')) copies.push({ jid: node.attrs.to ?? '', enc })

	const sent: SentMessage = {
		id: node.attrs.id ?? '',
		to: node.attrs.to ?? '',
		from: device.jid,
		type: node.attrs.type ?? '',
		category: node.attrs.category,
		recipients: copies.map((copy) => copy.jid),
		at: Date.now(),
	}
	// The contact's copy first: it is the message itself, not the own-device envelope.
	copies.sort((a, b) => Number(isOwn(state, device, a.jid)) - Number(isOwn(state, device, b.jid)))
	for (const { jid, enc } of copies) {
		const person = state.personByJid(jid)
		const type = enc.attrs.type ?? ''
		if (!person || (type !== 'pkmsg' && type !== 'msg') || !(enc.content instanceof Uint8Array)) continue
		if (state.deviceByJid(jid)) continue
		try {
			const plaintext = await person.party.decrypt(companionAddress(device), type, enc.content)
			const message = proto.Message.decode(unpadRandomMax16(plaintext))
			// A send to a group gives each member's devices the sender key; the message is the skmsg.
			const distribution = message.senderKeyDistributionMessage
			if (distribution?.groupId && distribution.axolotlSenderKeyDistributionMessage) {
				senderKeys?.rememberSenderKey(distribution.groupId, device.jid, distribution.axolotlSenderKeyDistributionMessage)
				continue
			}
			if (sent.message) continue
			sent.message = message.deviceSentMessage?.message ?? message
			sent.text = textOf(sent.message)
		} catch (error) {
			sent.decryptError = error instanceof Error ? error.message : String(error)
			if (!isOwn(state, device, jid)) sent.undecryptedBy = jid
		}
	}
	const skmsg = getBinaryNodeChildren(node, 'enc').find((enc) => enc.attrs.type === 'skmsg')
	if (skmsg?.content instanceof Uint8Array && senderKeys && !sent.message) {
		try {
			sent.message = await senderKeys.decryptGroupMessage(sent.to, device.jid, skmsg.content)
			sent.text = textOf(sent.message)
		} catch (error) {
			sent.decryptError = error instanceof Error ? error.message : String(error)
		}
	}
	state.save()
	return sent
}

export function readReceipt(device: Device, node: BinaryNode): CompanionReceipt {
	const list = getAllBinaryNodeChildren(node).find((child) => child.tag === 'list')
	const more = getBinaryNodeChildren(list, 'item').map((item) => item.attrs.id ?? '')
	const id = node.attrs.id ?? ''
	return { id, ids: [id, ...more], to: node.attrs.to ?? '', type: node.attrs.type ?? 'delivery', from: device.jid }
}

/** A receipt from a contact for messages the companion sent: delivery (no type), `read` or `played`. */
export function receiptStanza(chat: string, ids: string[], type: 'delivery' | 'read' | 'played'): BinaryNode {
	const [first, ...rest] = ids
	const attrs: Record<string, string> = { from: chat, id: first ?? '', t: String(Math.floor(Date.now() / 1000)) }
	if (type !== 'delivery') attrs.type = type
	return {
		tag: 'receipt',
		attrs,
		content: rest.length ? [{ tag: 'list', attrs: {}, content: rest.map((id) => ({ tag: 'item', attrs: { id } })) }] : undefined,
	}
}

/**
 * The account's phone read messages it received from `chat`: WhatsApp tells the linked devices with
 * the phone's own read receipt, from the account's JID with the chat as `recipient` (Baileys reads
 * it as READ for the received messages, `fromMe: false`).
 */
export function ownReadReceiptStanza(owner: string, chat: string, ids: string[]): BinaryNode {
	const node = receiptStanza(owner, ids, 'read')
	node.attrs.recipient = chat
	return node
}

/**
 * The account's phone got its copy of a message a companion sent, and says so with a `sender`
 * receipt, from the account's JID (Baileys reads it as SERVER_ACK, the single tick): with the chat
 * as `recipient`, or from the group with the account as `participant`.
 */
export function senderReceiptStanza(owner: string, chat: string, id: string): BinaryNode {
	const attrs: Record<string, string> = chat.endsWith('@g.us')
		? { from: chat, participant: owner, id, type: 'sender', t: String(Math.floor(Date.now() / 1000)) }
		: { from: owner, recipient: chat, id, type: 'sender', t: String(Math.floor(Date.now() / 1000)) }
	return { tag: 'receipt', attrs }
}

function textOf(message: proto.IMessage | undefined | null): string | undefined {
	return message?.conversation ?? message?.extendedTextMessage?.text ?? undefined
}

function messageType(message: proto.IMessage): string {
	if (message.reactionMessage) return 'reaction'
	if (message.imageMessage || message.videoMessage || message.audioMessage || message.documentMessage) return 'media'
	return 'text'
}

function isOwn(state: StandInState, device: Device, jid: string): boolean {
	return state.personByJid(jid)?.phone === device.phone
}
