import { encodeBigEndian, getBinaryNodeChild, getBinaryNodeChildBuffer, type BinaryNode } from '@whiskeysockets/baileys'
import type { SentMessage } from './events'
import type { Delivery } from './messages'
import type { KeyBundle } from './signal-party'
import type { StandInState } from './state'

/**
 * WhatsApp's retry protocol, as a phone plays it. A device that cannot decrypt a message asks its
 * sender for it again with a `retry` receipt: the count of the request and the asker's Signal
 * registration id, and from the second request on the keys for a new session. The sender sends the
 * message again, same id, on a new session when it has the keys (or, for a companion, from the
 * prekeys WhatsApp hands out). A phone asks a few times, then gives up.
 */

/** How often a contact's phone asks for one message before it shows "waiting for this message" for good. */
export const MAX_RETRIES = 5

/** Messages and requests remembered per stand-in, oldest forgotten first. */
const REMEMBERED = 10_000

/**
 * What the phones remember for retries: the messages they sent, to send one again when a companion
 * asks, and their own requests so far, by message id (a message asked for again counts up).
 */
export class Retries {
	private readonly counts = new Map<string, number>()
	private readonly delivered = new Map<string, Delivery>()

	/** A phone sent `delivery` to a companion. */
	remember(delivery: Delivery): void {
		remember(this.delivered, delivery.id, delivery)
	}

	/** The message a phone sent with this id, if it still remembers it. */
	deliveryFor(id: string): Delivery | undefined {
		return this.delivered.get(id)
	}

	/**
	 * The retry receipt a contact's phone sends when its copy of `sent` did not decrypt, or
	 * undefined when nothing is to be asked (it decrypted, a group message, asked too often).
	 */
	requestFor(state: StandInState, sent: SentMessage): BinaryNode | undefined {
		const asker = sent.undecryptedBy
		const person = asker ? state.personByJid(asker) : undefined
		if (!asker || !person || sent.to.endsWith('@g.us')) return undefined
		const count = (this.counts.get(sent.id) ?? 0) + 1
		if (count > MAX_RETRIES) return undefined
		remember(this.counts, sent.id, count)
		const t = String(Math.floor(Date.now() / 1000))
		return {
			tag: 'receipt',
			attrs: { id: sent.id, from: asker, type: 'retry', t },
			content: [
				{ tag: 'retry', attrs: { count: String(count), id: sent.id, t, v: '1' } },
				{ tag: 'registration', attrs: {}, content: encodeBigEndian(person.party.registrationId) },
			],
		}
	}
}

function remember<T>(map: Map<string, T>, id: string, value: T): void {
	map.delete(id)
	map.set(id, value)
	if (map.size > REMEMBERED) map.delete(map.keys().next().value!)
}

/** The keys for a new session that a companion's retry receipt carries from its second request on. */
export function retryBundle(receipt: BinaryNode): KeyBundle | undefined {
	const keys = getBinaryNodeChild(receipt, 'keys')
	const registration = getBinaryNodeChildBuffer(receipt, 'registration')
	const identity = getBinaryNodeChildBuffer(keys, 'identity')
	const skey = getBinaryNodeChild(keys, 'skey')
	const key = getBinaryNodeChild(keys, 'key')
	const signedPreKey = getBinaryNodeChildBuffer(skey, 'value')
	const signature = getBinaryNodeChildBuffer(skey, 'signature')
	const signedKeyId = getBinaryNodeChildBuffer(skey, 'id')
	if (!registration || !identity || !signedPreKey || !signature || !signedKeyId) return undefined
	const preKey = getBinaryNodeChildBuffer(key, 'value')
	const preKeyId = getBinaryNodeChildBuffer(key, 'id')
	return {
		registrationId: Buffer.from(registration).readUIntBE(0, registration.byteLength),
		identityKey: identity,
		signedPreKey: { keyId: Buffer.from(signedKeyId).readUIntBE(0, signedKeyId.byteLength), publicKey: signedPreKey, signature },
		preKey: preKey && preKeyId ? { keyId: Buffer.from(preKeyId).readUIntBE(0, preKeyId.byteLength), publicKey: preKey } : undefined,
	}
}
