import { aesDecryptGCM, aesEncryptGCM, Curve, hkdf, NOISE_MODE, NOISE_WA_HEADER, proto, sha256, type KeyPair } from '@whiskeysockets/baileys'

/**
 * The server half of WhatsApp's Noise XX handshake (Noise_XX_25519_AESGCM_SHA256), mirroring
 * Baileys' Utils/noise-handler.js step for step: one key and one nonce counter are shared by both
 * directions until the handshake ends, every ciphertext is mixed into the running hash, and the
 * transport keys are HKDF(salt, '') split in two — the client writes with the first half.
 */
export class ServerNoise {
	private hash: Buffer
	private salt: Buffer
	private key: Buffer
	private counter = 0
	private transport?: { encKey: Buffer; decKey: Buffer; readCounter: number; writeCounter: number }
	private readonly ephemeral: KeyPair = Curve.generateKeyPair()
	/** The client's static noise key, known once the handshake is finished: it names the companion. */
	clientStatic?: Buffer

	constructor(
		private readonly staticKey: KeyPair,
		private readonly certChain: Uint8Array,
	) {
		const mode = Buffer.from(NOISE_MODE)
		this.hash = mode.byteLength === 32 ? mode : sha256(mode)
		this.salt = this.hash
		this.key = this.hash
		this.authenticate(NOISE_WA_HEADER)
	}

	get established(): boolean {
		return !!this.transport
	}

	/** Answers the ClientHello frame with the ServerHello frame (ephemeral, static, certificate chain). */
	serverHello(frame: Uint8Array): Uint8Array {
		const clientEphemeral = proto.HandshakeMessage.decode(frame).clientHello?.ephemeral
		if (clientEphemeral?.byteLength !== 32) throw new Error('handshake: missing client ephemeral key')
		this.authenticate(clientEphemeral)
		this.authenticate(this.ephemeral.public)
		this.mixIntoKey(Curve.sharedKey(this.ephemeral.private, clientEphemeral))
		const encryptedStatic = this.encrypt(this.staticKey.public)
		this.mixIntoKey(Curve.sharedKey(this.staticKey.private, clientEphemeral))
		const encryptedPayload = this.encrypt(this.certChain)
		return proto.HandshakeMessage.encode({
			serverHello: { ephemeral: this.ephemeral.public, static: encryptedStatic, payload: encryptedPayload },
		}).finish()
	}

	/** Reads the ClientFinish frame, switches to transport keys and returns the client's login or registration payload. */
	clientFinish(frame: Uint8Array): proto.ClientPayload {
		const finish = proto.HandshakeMessage.decode(frame).clientFinish
		if (!finish?.static || !finish.payload) throw new Error('handshake: incomplete client finish')
		this.clientStatic = this.decrypt(finish.static)
		this.mixIntoKey(Curve.sharedKey(this.ephemeral.private, this.clientStatic))
		const payload = proto.ClientPayload.decode(this.decrypt(finish.payload))
		const [clientWrite, serverWrite] = this.split(new Uint8Array(0))
		this.transport = { decKey: clientWrite, encKey: serverWrite, readCounter: 0, writeCounter: 0 }
		return payload
	}

	encryptFrame(plaintext: Uint8Array): Uint8Array {
		if (!this.transport) throw new Error('noise: transport not established')
		return aesEncryptGCM(plaintext, this.transport.encKey, iv(this.transport.writeCounter++), EMPTY)
	}

	decryptFrame(ciphertext: Uint8Array): Uint8Array {
		if (!this.transport) throw new Error('noise: transport not established')
		return aesDecryptGCM(ciphertext, this.transport.decKey, iv(this.transport.readCounter++), EMPTY)
	}

	private authenticate(data: Uint8Array): void {
		this.hash = sha256(Buffer.concat([this.hash, data]))
	}

	private encrypt(plaintext: Uint8Array): Buffer {
		const result = aesEncryptGCM(plaintext, this.key, iv(this.counter++), this.hash)
		this.authenticate(result)
		return result
	}

	private decrypt(ciphertext: Uint8Array): Buffer {
		const result = aesDecryptGCM(ciphertext, this.key, iv(this.counter++), this.hash)
		this.authenticate(ciphertext)
		return result
	}

	private split(data: Uint8Array): [Buffer, Buffer] {
		const key = Buffer.from(hkdf(data, 64, { salt: this.salt, info: '' }))
		return [key.subarray(0, 32), key.subarray(32)]
	}

	private mixIntoKey(data: Uint8Array): void {
		const [write, read] = this.split(data)
		this.salt = write
		this.key = read
		this.counter = 0
	}
}

const EMPTY = new Uint8Array(0)

function iv(counter: number): Buffer {
	const buffer = Buffer.alloc(12)
	buffer.writeUInt32BE(counter, 8)
	return buffer
}

/**
 * Splits the client's byte stream into frames (3-byte big-endian length + body). The very first
 * bytes are an intro: `WA\x06\x03`, or, when the client holds routing info from an earlier
 * `edge_routing`, `ED\x00\x01` + 3-byte length + routing info + `WA\x06\x03`.
 */
export class FrameReader {
	private buffered: Buffer = Buffer.alloc(0)
	private introRead = false

	push(data: Uint8Array): Buffer[] {
		this.buffered = this.buffered.byteLength ? Buffer.concat([this.buffered, data]) : Buffer.from(data)
		if (!this.introRead && !this.readIntro()) return []
		const frames: Buffer[] = []
		while (this.buffered.byteLength >= 3) {
			const size = (this.buffered[0]! << 16) | (this.buffered[1]! << 8) | this.buffered[2]!
			if (this.buffered.byteLength < size + 3) break
			frames.push(this.buffered.subarray(3, size + 3))
			this.buffered = this.buffered.subarray(size + 3)
		}
		return frames
	}

	private readIntro(): boolean {
		let offset = 0
		if (this.buffered.byteLength >= 2 && this.buffered.toString('latin1', 0, 2) === 'ED') {
			if (this.buffered.byteLength < 7) return false
			const routingLength = (this.buffered[4]! << 16) | this.buffered.readUInt16BE(5)
			offset = 7 + routingLength
		}
		if (this.buffered.byteLength < offset + NOISE_WA_HEADER.byteLength) return false
		const header = this.buffered.subarray(offset, offset + NOISE_WA_HEADER.byteLength)
		if (header[0] !== 0x57 || header[1] !== 0x41) throw new Error('handshake: bad intro header')
		this.buffered = this.buffered.subarray(offset + NOISE_WA_HEADER.byteLength)
		this.introRead = true
		return true
	}
}

export function frame(body: Uint8Array): Buffer {
	const out = Buffer.allocUnsafe(body.byteLength + 3)
	out[0] = (body.byteLength >>> 16) & 0xff
	out[1] = (body.byteLength >>> 8) & 0xff
	out[2] = body.byteLength & 0xff
	out.set(body, 3)
	return out
}
