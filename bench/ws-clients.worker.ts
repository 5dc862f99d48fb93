// WebSocket clients for the fan-out benchmark, in their own thread so they do not share the server's.
// They speak the protocol on bare TCP sockets (Bun.connect): a data callback then carries many
// frames at once, which keeps the clients' own cost — and so its share in the latency — small.
// In: { kind: 'open', urls } → out { kind: 'opened' } once every socket got its first message;
// { kind: 'measure', from } records the latency of every message stamped at or after `from`;
// { kind: 'finish' } → out { kind: 'done', latencies, received, closedEarly } and closes the sockets.
// Messages carry their send time (ms since the epoch, sub-millisecond) as `data.qr = "t:<time>"`.
import type { Socket } from 'bun'

declare const self: Worker

const now = () => performance.timeOrigin + performance.now()
const decoder = new TextDecoder()
const HEADER_END = Buffer.from('\r\n\r\n')
let sockets: Socket<Client>[] = []
let from = Number.POSITIVE_INFINITY
let latencies: number[] = []
let received = 0
let closedEarly = 0
let finishing = false

interface Client {
	buffer: Buffer
	upgraded: boolean
	first: boolean
	onFirst(): void
}

function onText(client: Client, text: string, at: number) {
	if (client.first) {
		client.first = false
		client.onFirst()
		return
	}
	const stamp = /"qr":"t:([\d.]+)"/.exec(text)
	if (!stamp) return
	const sent = Number(stamp[1])
	if (sent < from) return
	received++
	latencies.push(at - sent)
}

function onData(client: Client, chunk: Buffer) {
	const at = now()
	let buffer = client.buffer.length ? Buffer.concat([client.buffer, chunk]) : chunk
	if (!client.upgraded) {
		const end = buffer.indexOf(HEADER_END)
		if (end < 0) {
			client.buffer = buffer
			return
		}
		client.upgraded = true
		buffer = buffer.subarray(end + 4)
	}
	let offset = 0
	while (buffer.length - offset >= 2) {
		const opcode = buffer[offset]! & 0x0f
		let length = buffer[offset + 1]! & 0x7f
		let head = 2
		if (length === 126) {
			if (buffer.length - offset < 4) break
			length = buffer.readUInt16BE(offset + 2)
			head = 4
		} else if (length === 127) {
			if (buffer.length - offset < 10) break
			length = Number(buffer.readBigUInt64BE(offset + 2))
			head = 10
		}
		if (buffer.length - offset < head + length) break
		if (opcode === 1) onText(client, decoder.decode(buffer.subarray(offset + head, offset + head + length)), at)
		offset += head + length
	}
	client.buffer = offset < buffer.length ? Buffer.from(buffer.subarray(offset)) : Buffer.alloc(0)
}

self.onmessage = async (event: MessageEvent<{ kind: 'open'; urls: string[] } | { kind: 'measure'; from: number } | { kind: 'finish' }>) => {
	const message = event.data
	if (message.kind === 'open') {
		let pending = message.urls.length
		const onFirst = () => {
			if (--pending === 0) self.postMessage({ kind: 'opened' })
		}
		sockets = await Promise.all(
			message.urls.map((raw) => {
				const url = new URL(raw)
				const key = Buffer.from(crypto.getRandomValues(new Uint8Array(16))).toString('base64')
				return Bun.connect<Client>({
					hostname: url.hostname,
					port: Number(url.port),
					data: { buffer: Buffer.alloc(0), upgraded: false, first: true, onFirst },
					socket: {
						open(s) {
							s.write(
								`GET ${url.pathname}${url.search} HTTP/1.1\r\nHost: ${url.host}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: ${key}\r\nSec-WebSocket-Version: 13\r\n\r\n`,
							)
						},
						data: (s, chunk) => onData(s.data, chunk),
						close() {
							if (!finishing) closedEarly++
						},
					},
				})
			}),
		)
	} else if (message.kind === 'measure') {
		from = message.from
		latencies = []
		received = 0
	} else {
		finishing = true
		for (const s of sockets) s.end()
		self.postMessage({ kind: 'done', latencies, received, closedEarly })
	}
}
