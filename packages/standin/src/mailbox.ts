import type { BinaryNode } from '@whiskeysockets/baileys'
import type { Delivery } from './messages'
import type { Device } from './state'

/** A message for a companion, or a ready node (a receipt for what it sent). */
export type Outgoing = { delivery: Delivery } | { node: BinaryNode }

interface Box {
	/** Waiting for the device's next login. */
	queued: Outgoing[]
	/** Delivered and not answered yet, by message id, oldest first. */
	unanswered: Map<string, Delivery>
}

/**
 * What WhatsApp holds for each linked device. A message stays until the device answers it (a
 * receipt or an ack, a refusal included): one the device never answered, because its socket
 * ended first, is delivered again at its next login with what queued up meanwhile, as WhatsApp's
 * offline queue does. Kept in memory: a restarted stand-in starts with empty boxes.
 */
export class Mailboxes {
	private readonly boxes = new Map<string, Box>()

	/** Keeps `item` for the device's next login. */
	queue(device: Device, item: Outgoing): void {
		this.box(device).queued.push(item)
	}

	/** `delivery` went out to a live connection of the device: kept until answered. */
	delivered(device: Device, delivery: Delivery): void {
		this.box(device).unanswered.set(delivery.id, delivery)
	}

	/** The device answered these messages; ids of anything else are ignored. */
	answered(device: Device, ids: readonly string[]): void {
		const box = this.boxes.get(device.noiseKey)
		for (const id of ids) box?.unanswered.delete(id)
	}

	/**
	 * What a login gets: the messages still unanswered (again), then what queued up. The messages
	 * among them stay unanswered until the device answers them on this login.
	 */
	takeForLogin(device: Device): Outgoing[] {
		const box = this.box(device)
		const items: Outgoing[] = [...box.unanswered.values()].map((delivery) => ({ delivery }))
		items.push(...box.queued)
		box.queued = []
		for (const item of items) if ('delivery' in item) box.unanswered.set(item.delivery.id, item.delivery)
		return items
	}

	/** Ids of the messages delivered or queued to the device that it has not answered. */
	unanswered(device: Device): string[] {
		const box = this.boxes.get(device.noiseKey)
		if (!box) return []
		const queued = box.queued.flatMap((item) => ('delivery' in item ? [item.delivery.id] : []))
		return [...box.unanswered.keys(), ...queued]
	}

	/** A device that was unlinked gets nothing more. */
	forget(device: Device): void {
		this.boxes.delete(device.noiseKey)
	}

	private box(device: Device): Box {
		let box = this.boxes.get(device.noiseKey)
		if (!box) {
			box = { queued: [], unanswered: new Map() }
			this.boxes.set(device.noiseKey, box)
		}
		return box
	}
}
