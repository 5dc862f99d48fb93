import type { BinaryNode } from '@whiskeysockets/baileys'
import type { Logger } from '../logger'

/**
 * The receipt types Baileys sends for a message it received and then upserts: a delivery receipt
 * (no type), `inactive` (delivered, nobody looking), `sender` (our own message from another
 * device), `peer_msg` (the phone talking to its companions) and `hist_sync` (a history chunk).
 * Read receipts and retry requests are not acknowledgements of delivery and pass through.
 */
const DELIVERY_RECEIPTS = new Set<string | undefined>([undefined, 'inactive', 'sender', 'peer_msg', 'hist_sync'])

/** Receipts held at most per socket: past this the oldest are forgotten (WhatsApp sends those messages again). */
const MAX_HELD = 10_000

/**
 * Holds back the delivery receipts of incoming messages until their `messages.upsert` is published.
 *
 * WhatsApp keeps a message for a device until the device's receipt for it arrives, and delivers it
 * again at the next login otherwise. Baileys 7 sends that receipt in `handleMessage` *before* it
 * emits `messages.upsert`, so a message whose event is lost afterwards (the socket ends while the
 * event sits in Baileys' buffer, the publish fails) would be acknowledged and gone for good.
 * Baileys' layers call `sendNode` through closures, so wrapping `sock.sendNode` reaches none of
 * them: the `interceptSendNode` setting, added by the Baileys patch in `patches/`, is the one
 * place every node passes. One gate per socket; a receipt held when its socket ends is never sent.
 *
 * Acks (`<ack class="message">`) go out as Baileys sends them: Baileys uses them for stanzas it
 * does not turn into messages (newsletters, expired statuses, undecryptable placeholders) and for
 * refusals, none of which the runner stores; except on a socket `silence`d because the database
 * failed, where an error ack would be WhatsApp's cue never to deliver that message again.
 */
export class ReceiptGate {
	private readonly held = new Map<string, BinaryNode[]>()
	private send?: (node: BinaryNode) => Promise<void>
	private silent = false

	constructor(private readonly log: Logger) {}

	/** The socket's `interceptSendNode` setting. */
	readonly intercept = (node: BinaryNode, send: (node: BinaryNode) => Promise<void>): Promise<void> => {
		this.send = send
		// An error ack would tell WhatsApp the message was dealt with: it would not come again.
		if (this.silent && (node.tag === 'receipt' || node.tag === 'ack')) return Promise.resolve()
		const id = node.attrs.id
		if (node.tag !== 'receipt' || !id || !DELIVERY_RECEIPTS.has(node.attrs.type)) return send(node)
		// Baileys awaits this before it upserts the message: resolving now lets it go on.
		const nodes = this.held.get(id)
		if (nodes) nodes.push(node)
		else this.held.set(id, [node])
		if (this.held.size > MAX_HELD) this.held.delete(this.held.keys().next().value!)
		return Promise.resolve()
	}

	/** The messages' upsert reached the bus: their receipts go out now. */
	release(ids: readonly string[]): void {
		const send = this.send
		for (const id of ids) {
			const nodes = this.held.get(id)
			if (!nodes || !send) continue
			this.held.delete(id)
			for (const node of nodes) {
				send(node).catch((err: unknown) =>
					// A socket that ended in between: WhatsApp delivers the message again at the next login.
					this.log.debug({ err, id }, 'could not send a held receipt'),
				)
			}
		}
	}

	/**
	 * The socket ends because what it received could not be stored: from now on no receipt or ack
	 * goes out on it, held ones included, so WhatsApp delivers all of it again at the next login.
	 */
	silence(): void {
		this.silent = true
		this.held.clear()
	}

	/** The messages' upsert could not be published: no receipt, so WhatsApp delivers them again. */
	drop(ids: readonly string[]): void {
		for (const id of ids) this.held.delete(id)
	}
}
