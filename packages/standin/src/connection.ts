import type { ServerWebSocket } from 'bun'
import { decodeBinaryNode, encodeBinaryNode, S_WHATSAPP_NET, type BinaryNode, type KeyPair, type proto } from '@whiskeysockets/baileys'
import { FrameReader, ServerNoise, frame } from './handshake'
import type { Device } from './state'

/** The server's own JID: on the wire a JID with an empty user, which Baileys reads as '@s.whatsapp.net'. */
export const SERVER_JID = S_WHATSAPP_NET

/** What a companion announced when it connected without an account: the start of a pairing. */
export interface Registration {
	refs: string[]
	identityKey: Buffer
	registrationId: number
	signedPreKey: { keyId: number; publicKey: Buffer; signature: Buffer }
	platform: string
	/** Set by `link_code_companion_reg` (pairing by code instead of QR). */
	codePairing?: {
		phone: string
		ref: string
		wrappedEphemeral: Buffer
		companionEphemeral?: Buffer
		primaryEphemeral?: KeyPair
	}
}

export interface ConnectionHost {
	onPayload(connection: Connection, payload: proto.ClientPayload): void | Promise<void>
	onNode(connection: Connection, node: BinaryNode): void | Promise<void>
	onClose(connection: Connection): void
	onError(connection: Connection, error: unknown): void
}

export interface SocketData {
	connection?: Connection
}

let nextConnectionId = 1

/** One WebSocket from a Baileys client: noise framing in, binary nodes out, in order. */
export class Connection {
	readonly id = nextConnectionId++
	phase: 'handshake' | 'registering' | 'open' | 'closed' = 'handshake'
	device?: Device
	registration?: Registration
	/** Set once the post-login burst (offline messages, `offline` marker, first history) went out. */
	postLoginDone = false
	private readonly reader = new FrameReader()
	private readonly noise: ServerNoise
	private helloAnswered = false
	private queue: Promise<void> = Promise.resolve()
	private readonly pending = new Map<string, { answer: (node: BinaryNode) => void; fail: (error: Error) => void }>()
	private nextTag = 1

	constructor(
		private readonly socket: ServerWebSocket<SocketData>,
		serverStatic: KeyPair,
		certChain: Uint8Array,
		private readonly host: ConnectionHost,
	) {
		this.noise = new ServerNoise(serverStatic, certChain)
	}

	/** Base64 of the client's static noise key: how the stand-in recognises a paired companion. */
	get noiseKey(): string {
		return this.noise.clientStatic ? this.noise.clientStatic.toString('base64') : ''
	}

	receive(data: Uint8Array): void {
		let frames: Buffer[]
		try {
			frames = this.reader.push(data)
		} catch (error) {
			this.host.onError(this, error)
			this.close()
			return
		}
		for (const body of frames) {
			this.queue = this.queue
				.then(() => this.handleFrame(body))
				.catch((error) => {
					this.host.onError(this, error)
				})
		}
	}

	send(node: BinaryNode): void {
		if (this.phase === 'closed') return
		this.socket.sendBinary(frame(this.noise.encryptFrame(encodeBinaryNode(node))))
	}

	/** Sends a server-initiated iq and resolves with the companion's answer. */
	query(node: BinaryNode, timeoutMs = 15_000): Promise<BinaryNode> {
		const id = node.attrs.id || this.tag()
		node.attrs.id = id
		return new Promise((resolve, reject) => {
			const timer = setTimeout(() => {
				this.pending.delete(id)
				reject(new Error(`stand-in: no answer to iq ${id} within ${timeoutMs} ms`))
			}, timeoutMs)
			this.pending.set(id, {
				answer: (answer) => {
					clearTimeout(timer)
					resolve(answer)
				},
				fail: (error) => {
					clearTimeout(timer)
					reject(error)
				},
			})
			this.send(node)
		})
	}

	tag(): string {
		return `standin-${this.id}-${this.nextTag++}`
	}

	close(code = 1000, reason = ''): void {
		if (this.phase === 'closed') return
		this.socket.close(code, reason)
	}

	/** Called by the server when the socket is gone. */
	closed(): void {
		if (this.phase === 'closed') return
		this.phase = 'closed'
		for (const { fail } of this.pending.values()) fail(new Error('the companion disconnected'))
		this.pending.clear()
		this.host.onClose(this)
	}

	private async handleFrame(body: Buffer): Promise<void> {
		if (this.phase === 'closed') return
		if (!this.helloAnswered) {
			this.helloAnswered = true
			this.socket.sendBinary(frame(this.noise.serverHello(body)))
			return
		}
		if (!this.noise.established) {
			await this.host.onPayload(this, this.noise.clientFinish(body))
			return
		}
		const node = await decodeBinaryNode(Buffer.from(this.noise.decryptFrame(body)))
		if (node.tag === 'iq' && (node.attrs.type === 'result' || node.attrs.type === 'error')) {
			const waiting = this.pending.get(node.attrs.id ?? '')
			if (waiting) {
				this.pending.delete(node.attrs.id ?? '')
				waiting.answer(node)
				return
			}
		}
		await this.host.onNode(this, node)
	}
}
