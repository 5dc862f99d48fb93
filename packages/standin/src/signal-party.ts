import { Curve, encodeBigEndian, generateRegistrationId, type BinaryNode } from '@whiskeysockets/baileys'
import { ProtocolAddress, SessionBuilder, SessionCipher, SessionRecord, type SignalStorage } from 'libsignal'
import { PreKeyWhisperMessage } from 'libsignal/src/protobufs.js'

/** libsignal's key format: public keys carry the 0x05 type byte (33 bytes), private keys are 32 bytes. */
interface SignalKeyPair {
	pubKey: Buffer
	privKey: Buffer
}

/** What a peer needs to open a session with a device: the "key bundle" of the `encrypt` iq. */
export interface KeyBundle {
	registrationId: number
	identityKey: Uint8Array
	signedPreKey: { keyId: number; publicKey: Uint8Array; signature: Uint8Array }
	preKey?: { keyId: number; publicKey: Uint8Array }
}

export interface SerializedParty {
	identity: { pub: string; priv: string }
	registrationId: number
	signedPreKey: { keyId: number; pub: string; priv: string; signature: string }
	preKeys: Record<string, { pub: string; priv: string }>
	nextPreKeyId: number
	sessions: Record<string, unknown>
}

/**
 * A Signal identity played by the stand-in: a contact's phone, or the account's own phone (device 0,
 * whose identity key is also the account signature key of the ADV pairing). It holds its own
 * libsignal store, so it can open sessions to a companion from the prekeys the companion uploaded,
 * and decrypt what the companion encrypts to it from the bundles the stand-in hands out.
 */
export class SignalParty implements SignalStorage {
	readonly identity: SignalKeyPair
	readonly registrationId: number
	private readonly signedPreKey: { keyId: number; keyPair: SignalKeyPair; signature: Uint8Array }
	private readonly preKeys = new Map<number, SignalKeyPair>()
	private nextPreKeyId: number
	private readonly sessions = new Map<string, SessionRecord>()
	/** The tail of each address's operations (see `serially`). */
	private readonly pending = new Map<string, Promise<unknown>>()

	private constructor(data?: SerializedParty) {
		if (data) {
			this.identity = fromBase64Pair(data.identity)
			this.registrationId = data.registrationId
			this.signedPreKey = {
				keyId: data.signedPreKey.keyId,
				keyPair: fromBase64Pair(data.signedPreKey),
				signature: Buffer.from(data.signedPreKey.signature, 'base64'),
			}
			for (const [id, pair] of Object.entries(data.preKeys)) this.preKeys.set(Number(id), fromBase64Pair(pair))
			this.nextPreKeyId = data.nextPreKeyId
			for (const [address, record] of Object.entries(data.sessions)) {
				this.sessions.set(address, SessionRecord.deserialize(record as Uint8Array))
			}
			return
		}
		this.identity = newKeyPair()
		this.registrationId = generateRegistrationId()
		const signed = newKeyPair()
		this.signedPreKey = { keyId: 1, keyPair: signed, signature: Curve.sign(this.identity.privKey, signed.pubKey) }
		this.nextPreKeyId = 1
	}

	static create(): SignalParty {
		return new SignalParty()
	}

	static restore(data: SerializedParty): SignalParty {
		return new SignalParty(data)
	}

	/** The 32-byte identity public key, as WhatsApp puts it on the wire. */
	get publicKey(): Buffer {
		return this.identity.pubKey.subarray(1)
	}

	get privateKey(): Buffer {
		return this.identity.privKey
	}

	/** A fresh bundle with a one-time prekey, as the server hands out when someone wants to write to us. */
	issueBundle(): KeyBundle {
		const keyId = this.nextPreKeyId++
		const preKey = newKeyPair()
		this.preKeys.set(keyId, preKey)
		return {
			registrationId: this.registrationId,
			identityKey: this.publicKey,
			signedPreKey: {
				keyId: this.signedPreKey.keyId,
				publicKey: this.signedPreKey.keyPair.pubKey.subarray(1),
				signature: this.signedPreKey.signature,
			},
			preKey: { keyId, publicKey: preKey.pubKey.subarray(1) },
		}
	}

	private hasSession(address: string): boolean {
		return !!this.sessions.get(address)?.haveOpenSession()
	}

	/**
	 * Encrypts to a companion, first opening a session from `bundle()` when there is none. Like every
	 * operation on an address, it waits for the ones before it: a phone's Signal store is one record
	 * per address, and a send and a receive that overlapped would each write back their own copy.
	 */
	encryptTo(address: string, plaintext: Uint8Array, bundle: () => KeyBundle): Promise<{ type: 'pkmsg' | 'msg'; ciphertext: Buffer }> {
		return this.serially(address, async () => {
			if (!this.hasSession(address)) await this.openSession(address, bundle())
			const { type, body } = await new SessionCipher(this, toAddress(address)).encrypt(Buffer.from(plaintext))
			return { type: type === 3 ? 'pkmsg' : 'msg', ciphertext: Buffer.from(body, 'binary') }
		})
	}

	/**
	 * Drops the session with `address` and opens a new one from `bundle`: a phone answering a
	 * companion's second request for a message it could not decrypt, which carries the keys for it.
	 */
	restartSession(address: string, bundle: KeyBundle): Promise<void> {
		return this.serially(address, async () => {
			this.sessions.delete(address)
			await this.openSession(address, bundle)
		})
	}

	/** Forgets every session, as a phone whose Signal store was lost: what comes on an old one no longer decrypts. */
	forgetSessions(): void {
		this.sessions.clear()
	}

	decrypt(address: string, type: string, ciphertext: Uint8Array): Promise<Buffer> {
		return this.serially(address, async () => {
			const cipher = new SessionCipher(this, toAddress(address))
			const data = Buffer.from(ciphertext)
			if (type !== 'pkmsg') {
				const plaintext = await cipher.decryptWhisperMessage(data)
				// libsignal marks the session that decrypted it as the most recently used.
				this.promote(address, (record) => record.getSessions()[0])
				return plaintext
			}
			const baseKey = Buffer.from(PreKeyWhisperMessage.decode(data.subarray(1)).baseKey ?? [])
			this.closeForIncoming(address, baseKey)
			const plaintext = await cipher.decryptPreKeyWhisperMessage(data)
			this.promote(address, (record) => record.getSession(baseKey))
			return plaintext
		})
	}

	/**
	 * Makes the session that decrypted a message the open one when it was closed, as a phone's Signal
	 * library does (libsignal-node, which Baileys and this stand-in use, does not): when both sides
	 * started a session at once, each then answers on the one the other writes on, and the two
	 * settle on one session instead of each writing on its own.
	 */
	private promote(address: string, decrypting: (record: SessionList) => SessionState | undefined): void {
		const record = this.sessions.get(address) as unknown as SessionList | undefined
		const used = record && decrypting(record)
		if (!record || !used || used.indexInfo.closed === -1) return
		const open = record.getOpenSession()
		if (open) open.indexInfo.closed = Date.now()
		used.indexInfo.closed = -1
	}

	private async openSession(address: string, bundle: KeyBundle): Promise<void> {
		const builder = new SessionBuilder(this, toAddress(address))
		// libsignal accepts a bundle without a one-time prekey (the companion ran out); its typing does not.
		await builder.initOutgoing({
			registrationId: bundle.registrationId,
			identityKey: signalPublicKey(bundle.identityKey),
			signedPreKey: {
				keyId: bundle.signedPreKey.keyId,
				publicKey: signalPublicKey(bundle.signedPreKey.publicKey),
				signature: bundle.signedPreKey.signature,
			},
			preKey: bundle.preKey && { keyId: bundle.preKey.keyId, publicKey: signalPublicKey(bundle.preKey.publicKey) },
		} as Parameters<SessionBuilder['initOutgoing']>[0])
	}

	/**
	 * A companion that started a session of its own (it wrote to us while we wrote to it, or it
	 * re-fetched our bundle, as Baileys does whenever it newly learns a LID) sends a `pkmsg` with a
	 * new base key. The open session is closed, not dropped, as a phone does: the companion may
	 * still send on it what it encrypted before. libsignal would close it too, but print it whole.
	 */
	private closeForIncoming(address: string, baseKey: Buffer): void {
		const record = this.sessions.get(address) as unknown as SessionList | undefined
		const open = record?.getOpenSession()
		if (record && open && baseKey.length && !record.getSession(baseKey)) open.indexInfo.closed = Date.now()
	}

	/** Runs `work` once every earlier operation on `address` has ended, whether it failed or not. */
	private serially<T>(address: string, work: () => Promise<T>): Promise<T> {
		const run = (this.pending.get(address) ?? Promise.resolve()).then(work, work)
		const tail = run.then(
			() => {},
			() => {},
		)
		this.pending.set(address, tail)
		void tail.then(() => {
			if (this.pending.get(address) === tail) this.pending.delete(address)
		})
		return run
	}

	serialize(): SerializedParty {
		const preKeys: SerializedParty['preKeys'] = {}
		for (const [id, pair] of this.preKeys) preKeys[id] = toBase64Pair(pair)
		const sessions: Record<string, unknown> = {}
		for (const [address, record] of this.sessions) sessions[address] = record.serialize()
		return {
			identity: toBase64Pair(this.identity),
			registrationId: this.registrationId,
			signedPreKey: {
				keyId: this.signedPreKey.keyId,
				...toBase64Pair(this.signedPreKey.keyPair),
				signature: Buffer.from(this.signedPreKey.signature).toString('base64'),
			},
			preKeys,
			nextPreKeyId: this.nextPreKeyId,
			sessions,
		}
	}

	// SignalStorage, as libsignal calls it
	async loadSession(id: string): Promise<SessionRecord | undefined> {
		return this.sessions.get(id)
	}
	async storeSession(id: string, session: SessionRecord): Promise<void> {
		this.sessions.set(id, session)
	}
	isTrustedIdentity(): boolean {
		return true
	}
	async loadPreKey(id: number | string): Promise<{ privKey: Buffer; pubKey: Buffer } | undefined> {
		return this.preKeys.get(Number(id))
	}
	removePreKey(id: number): void {
		this.preKeys.delete(id)
	}
	loadSignedPreKey(): { privKey: Buffer; pubKey: Buffer } {
		return this.signedPreKey.keyPair
	}
	getOurRegistrationId(): number {
		return this.registrationId
	}
	getOurIdentity(): { privKey: Buffer; pubKey: Buffer } {
		return this.identity
	}
}

/** The `<user>` element of an `encrypt` key-fetch answer. */
export function bundleNode(jid: string, bundle: KeyBundle): BinaryNode {
	const content: BinaryNode[] = [
		{ tag: 'registration', attrs: {}, content: encodeBigEndian(bundle.registrationId) },
		{ tag: 'type', attrs: {}, content: Buffer.from([5]) },
		{ tag: 'identity', attrs: {}, content: bundle.identityKey },
		{
			tag: 'skey',
			attrs: {},
			content: [
				{ tag: 'id', attrs: {}, content: encodeBigEndian(bundle.signedPreKey.keyId, 3) },
				{ tag: 'value', attrs: {}, content: bundle.signedPreKey.publicKey },
				{ tag: 'signature', attrs: {}, content: bundle.signedPreKey.signature },
			],
		},
	]
	if (bundle.preKey) {
		content.push({
			tag: 'key',
			attrs: {},
			content: [
				{ tag: 'id', attrs: {}, content: encodeBigEndian(bundle.preKey.keyId, 3) },
				{ tag: 'value', attrs: {}, content: bundle.preKey.publicKey },
			],
		})
	}
	return { tag: 'user', attrs: { jid }, content }
}

function signalPublicKey(key: Uint8Array): Buffer {
	return key.byteLength === 33 ? Buffer.from(key) : Buffer.concat([Buffer.from([5]), key])
}

/** A session of a libsignal SessionRecord, as far as the party reaches past its typings: `closed` is -1 while open. */
interface SessionState {
	indexInfo: { closed: number }
}

/** What of libsignal's SessionRecord the party reaches past its typings. */
interface SessionList {
	getSession(baseKey: Buffer): SessionState | undefined
	getOpenSession(): SessionState | undefined
	/** Most recently used first. */
	getSessions(): SessionState[]
}

/** "name.device", the form libsignal stores sessions under. */
function toAddress(address: string): ProtocolAddress {
	const dot = address.lastIndexOf('.')
	return new ProtocolAddress(address.slice(0, dot), Number(address.slice(dot + 1)))
}

function newKeyPair(): SignalKeyPair {
	const pair = Curve.generateKeyPair()
	return { pubKey: signalPublicKey(pair.public), privKey: Buffer.from(pair.private) }
}

function toBase64Pair(pair: SignalKeyPair): { pub: string; priv: string } {
	return { pub: pair.pubKey.toString('base64'), priv: pair.privKey.toString('base64') }
}

function fromBase64Pair(pair: { pub: string; priv: string }): SignalKeyPair {
	return { pubKey: Buffer.from(pair.pub, 'base64'), privKey: Buffer.from(pair.priv, 'base64') }
}
