import type { BinaryNode } from '@whiskeysockets/baileys'

/**
 * The sends of one session that Baileys is working on, and whether each one's message stanza has
 * been handed to the socket. A close waits for the handed ones, which the phone may already have,
 * to be recorded before the session reports its end. A send not handed over by the time the socket
 * ended never will be (Baileys refuses to write to a closed socket) and fails instead; waiting for
 * it could take a minute, since Baileys' pending queries do not hear of a socket it ends itself.
 */
export class SendsInFlight {
	private readonly sends = new Map<string, { handed: boolean; done: Promise<unknown> }>()

	/** Runs the send of `messageId`, tracked until it settles. */
	async track<T>(messageId: string, run: () => Promise<T>): Promise<T> {
		const entry = { handed: false, done: Promise.resolve() as Promise<unknown> }
		this.sends.set(messageId, entry)
		const done = run()
		entry.done = done
		try {
			return await done
		} finally {
			if (this.sends.get(messageId) === entry) this.sends.delete(messageId)
		}
	}

	/** Part of the socket's `interceptSendNode`: notes a tracked send's stanza on its way out. */
	note(node: BinaryNode): void {
		const entry = node.tag === 'message' && node.attrs.id ? this.sends.get(node.attrs.id) : undefined
		if (entry) entry.handed = true
	}

	/** Resolves once every send whose stanza reached the socket has settled (and so was recorded). */
	async handedOver(): Promise<void> {
		await Promise.allSettled([...this.sends.values()].filter((s) => s.handed).map((s) => s.done))
	}
}
