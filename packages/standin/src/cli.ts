import { mkdirSync } from 'node:fs'
import { dirname } from 'node:path'
import { parseArgs } from 'node:util'
import type { StandInEvent } from './events'
import { startStandIn } from './server'

/**
 * `bun run stand-in [--port 7480] [--host 127.0.0.1] [--state ./data/standin.json] [--media-port 7481] [--media-host <name>]`
 * Runs the WhatsApp stand-in for local work; the state file keeps its root key, its media CA and
 * the linked devices, so the server's settings and sessions survive a restart of the stand-in.
 */
const { values } = parseArgs({
	args: Bun.argv.slice(2),
	options: {
		port: { type: 'string', default: process.env.STANDIN_PORT ?? '7480' },
		host: { type: 'string', default: process.env.STANDIN_HOST ?? '127.0.0.1' },
		state: { type: 'string', default: process.env.STANDIN_STATE ?? './data/standin.json' },
		'media-port': { type: 'string', default: process.env.STANDIN_MEDIA_PORT },
		'media-host': { type: 'string', default: process.env.STANDIN_MEDIA_HOST },
	},
})

mkdirSync(dirname(values.state), { recursive: true })
const standIn = await startStandIn({
	port: Number(values.port),
	hostname: values.host,
	statePath: values.state,
	// The CDN's port stays fixed too (media URLs in the server's database name it): one above the control port.
	mediaPort: Number(values['media-port'] ?? Number(values.port) + 1),
	mediaHost: values['media-host'],
})
const base = standIn.httpUrl.replace('0.0.0.0', '127.0.0.1')
const wsUrl = standIn.wsUrl.replace('0.0.0.0', '127.0.0.1')
const post = (path: string, body: object) => `curl -s -X POST ${base}${path} -d '${JSON.stringify(body)}'`

console.log(`WhatsApp stand-in on ${wsUrl} (state in ${values.state})

Give the server these three settings:
  WA_WEBSOCKET_URL=${wsUrl}
  WA_ROOT_PUBLIC_KEY=${standIn.rootPublicKey}
  NODE_EXTRA_CA_CERTS=${standIn.mediaCa.path}
The third makes the server's process trust the stand-in's media CDN (${standIn.mediaUrl}): Bun reads it
from the environment at process start only (not from a .env file), and Baileys' media downloads
and uploads then verify the CDN's certificate against this CA.

Control it over HTTP (JSON):
  curl -s ${base}/control                      # devices, counters, pending pairing codes
  ${post('/control/scan', { qr: '<the qr text of the session>', phone: '15551234567' })}
  ${post('/control/pairing-code', { phone: '15551234567', code: 'ABCD1234' })}
  ${post('/control/messages', { to: '15551234567', from: '15559876543', text: 'Hello!', encrypted: true })}
  ${post('/control/messages/image', { to: '15551234567', from: '15559876543', path: './photo.jpg', caption: 'Look' })}
  ${post('/control/messages/reaction', { to: '15551234567', from: '15559876543', target: { id: '<message id>', fromMe: true }, emoji: '👍' })}
  ${post('/control/media/expire', { id: '<message id>', status: 410 })}
  curl -s ${base}/control/sent/<message id>/media -o sent.bin   # the bytes a linked device uploaded
  ${post('/control/history', { to: '15551234567', chats: 20, messagesPerChat: 50 })}
  curl -s ${base}/control/sent?phone=15551234567   # what the linked devices sent
  ${post('/control/receipts', { ids: ['<message id>'], type: 'read' })}
  ${post('/control/kick', { target: '15551234567', mode: 'close' })}
  ${post('/control/revoke', { target: '15551234567:1@s.whatsapp.net' })}
`)

standIn.core.log.subscribe((event) => {
	const line = describe(event)
	if (line) console.log(`${new Date().toISOString()} ${line}`)
})

function describe(event: StandInEvent): string | undefined {
	switch (event.type) {
		case 'registration':
			return `companion #${event.connectionId} wants to link: showing a QR`
		case 'pairing-code-requested':
			return `companion #${event.connectionId} asks for a pairing code for ${event.phone}`
		case 'paired':
			return `linked ${event.device}`
		case 'login':
			return `${event.device} logged in (${event.live} live)`
		case 'login-refused':
			return `refused login of ${event.username || 'an unknown device'} (${event.reason})`
		case 'disconnected':
			return event.device ? `${event.device} disconnected` : undefined
		case 'sent':
			return `${event.message.from} sent ${event.message.id} to ${event.message.to}${event.message.text ? `: ${event.message.text}` : ''}`
		case 'logout':
			return `${event.device} logged out`
		case 'media-upload':
			return `media upload to ${event.path} (${event.size} bytes${event.tokenMatched ? '' : ', hash mismatch'})`
		case 'media-retry':
			return `${event.device} asked for message ${event.id}'s media again: ${event.result}`
		default:
			return undefined
	}
}

for (const signal of ['SIGINT', 'SIGTERM'] as const) {
	process.on(signal, () => {
		void standIn.stop().then(() => process.exit(0))
	})
}
