// The receiving end of the live end-to-end benchmark, in a thread of its own so it shares neither
// the stand-in's event loop nor Switchboard's. Two kinds:
// - 'baileys': bare Baileys sockets (no Switchboard) linked to the stand-in: the baseline. Each
//   posts { kind: 'qr', index, qr } for the driver to scan, then { kind: 'open', index }.
// - 'websocket': one client of Switchboard's /ws/sessions; posts { kind: 'open' } on its first frame.
// Either records every message whose text is `e2e:<seq>:<send time>` when it arrives (Baileys'
// `messages.upsert`, or the socket's `session.messages.upsert`). { kind: 'finish', expected,
// timeoutMs } → { kind: 'done', seqs, latencies, toStream } once every seq below `expected` arrived (or at
// the timeout), one entry per arrival, duplicates included.
import makeWASocket, { type WAMessage, type WASocket } from '@whiskeysockets/baileys'
import pino from 'pino'
import { memoryAuthState, quietLibsignal, statusCode } from '../packages/standin/test/companion'
import { trustRootKey } from '../src/whatsapp/root-key'

declare const self: Worker

export type ReceiverStart = { kind: 'baileys'; wsUrl: string; rootPublicKey: string; sockets: number } | { kind: 'websocket'; url: string }

const now = () => performance.timeOrigin + performance.now()
const TEXT = /^e2e:(\d+):([\d.]+)$/
const seqs: number[] = []
const latencies: number[] = []
/** For the WebSocket: how long each arrival took from send to its stream entry (the id's ms). */
const toStream: number[] = []
const seen = new Set<number>()
let finish: { expected: number } | undefined
let deadline: Timer | undefined
const sockets: WASocket[] = []
let client: WebSocket | undefined

function record(text: string | null | undefined, at: number, appendedAt?: number) {
	const match = text ? TEXT.exec(text) : null
	if (!match) return
	const seq = Number(match[1])
	seqs.push(seq)
	latencies.push(at - Number(match[2]))
	if (appendedAt !== undefined) toStream.push(appendedAt - Number(match[2]))
	seen.add(seq)
	if (finish && seen.size >= finish.expected) done()
}

function done() {
	clearTimeout(deadline)
	finish = undefined
	for (const socket of sockets) socket.end(undefined)
	client?.close()
	self.postMessage({ kind: 'done', seqs, latencies, toStream })
}

const textOf = (m: WAMessage) => m.message?.conversation ?? m.message?.extendedTextMessage?.text

/** A bare socket, opened again with the same auth when the stand-in asks for a restart (515), as Baileys wants. */
function bareSocket(index: number, wsUrl: string, auth = memoryAuthState()) {
	const socket = makeWASocket({
		auth,
		waWebSocketUrl: wsUrl,
		logger: pino({ level: 'silent' }),
		markOnlineOnConnect: false,
		browser: ['Bench', 'Chrome', '1.0'],
	})
	sockets.push(socket)
	socket.ev.on('messages.upsert', ({ messages }) => {
		const at = now()
		for (const m of messages) record(textOf(m), at)
	})
	socket.ev.on('connection.update', (update) => {
		if (update.qr) self.postMessage({ kind: 'qr', index, qr: update.qr })
		if (update.connection === 'open') self.postMessage({ kind: 'open', index })
		if (update.connection === 'close' && statusCode(update.lastDisconnect?.error) === 515) bareSocket(index, wsUrl, auth)
	})
}

self.onmessage = (event: MessageEvent<ReceiverStart | { kind: 'finish'; expected: number; timeoutMs: number }>) => {
	const message = event.data
	if (message.kind === 'baileys') {
		trustRootKey(message.rootPublicKey)
		quietLibsignal()
		for (let i = 0; i < message.sockets; i++) bareSocket(i, message.wsUrl)
	} else if (message.kind === 'websocket') {
		let first = true
		client = new WebSocket(message.url)
		client.onmessage = (frame) => {
			const at = now()
			if (first) {
				first = false
				self.postMessage({ kind: 'open' })
			}
			const envelope = JSON.parse(String(frame.data)) as { id: string; type: string; data: { messages?: { text?: string }[] } }
			if (envelope.type !== 'session.messages.upsert') return
			const appendedAt = Number(envelope.id.split('-')[0])
			for (const m of envelope.data.messages ?? []) record(m.text, at, appendedAt)
		}
	} else {
		finish = { expected: message.expected }
		if (seen.size >= message.expected) return done()
		deadline = setTimeout(done, message.timeoutMs)
	}
}
