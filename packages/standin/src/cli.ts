import { mkdirSync } from 'node:fs'
import { dirname } from 'node:path'
import { parseArgs } from 'node:util'
import type { StandInEvent } from './events'

/**
 * `bun run stand-in [--port 7480] [--host 127.0.0.1] [--state ./.standin/state.json] [--media-port 7481] [--media-host <name>]`
 * Runs the WhatsApp stand-in for local work; the state file keeps its root key, its media CA and
 * the linked devices, so the server's settings and sessions survive a restart of the stand-in.
 * The state has a folder of its own: the server's embedded database owns `./data`.
 */
const DEFAULTS = {
	port: process.env.STANDIN_PORT || '7480',
	host: process.env.STANDIN_HOST || '127.0.0.1',
	state: process.env.STANDIN_STATE || './.standin/state.json',
	mediaPort: process.env.STANDIN_MEDIA_PORT,
	mediaHost: process.env.STANDIN_MEDIA_HOST,
}

const USAGE = `Usage: bun run stand-in [options]

Runs a local WhatsApp stand-in that the real Baileys socket can link to, log in to, and exchange
messages with. It prints the three settings to give the server:
  WA_WEBSOCKET_URL     ws://<host>:<port>/ws/chat, where Baileys connects
  WA_ROOT_PUBLIC_KEY   the root key of the stand-in's certificates, which Baileys must trust
  WA_MEDIA_CA_FILE     the stand-in's media CA file, which the server's runner must trust

Options:
  --port <port>    port for the WebSocket and the control routes (default 7480, env STANDIN_PORT)
  --host <host>    address to listen on (default 127.0.0.1, env STANDIN_HOST)
  --state <file>   JSON file keeping the root key, the media CA and the linked devices across
                   restarts (default ./.standin/state.json, env STANDIN_STATE); the CA file is
                   written beside it
  --media-port <port>  port of the HTTPS media CDN (default: one above --port, env STANDIN_MEDIA_PORT)
  --media-host <name>  the name the server reaches the CDN by (env STANDIN_MEDIA_HOST)
  -h, --help       print this and exit

Control routes (JSON, on the same port):
  GET  /control                devices, counters, pending pairing codes
  POST /control/scan           {"qr", "phone", "name"?}: scan a session's QR as that phone
  POST /control/pairing-code   {"phone", "code", "name"?}: type in a pairing code
  POST /control/messages       {"to", "from", "text", "encrypted"?, "lid"?, "id"?, "pushName"?}: deliver a message
                               ("pushName": the sender's display name, also remembered as the contact's name)
  POST /control/messages/{kind} deliver another kind: image, video, gif, audio, voice, document, sticker,
                               location, live-location, contacts, reaction, reply, edit, delete, poll, poll-vote;
                               the same common fields, then the kind's own ("name" is a location's place or
                               a poll's question, never the sender's); bytes (waveform, …) as base64
  POST /control/media/expire   {"id", "status"}: make a delivered file answer 404 or 410
  POST /control/media/reupload {"id", "result"}: what the next re-upload request gets
  GET  /control/sent/{id}/media the decrypted bytes of a file a linked device uploaded
  POST /control/history        {"to", "chats"?, "messagesPerChat"?, "chunkSize"?}: push a history sync
  GET  /control/sent?phone=    what the linked devices sent
  POST /control/receipts       {"ids", "type"?}: delivery (default), read or played receipts
  POST /control/read           {"to", "from", "ids"}: the phone itself reads messages it received
  POST /control/on-whatsapp    {"phone", "registered"}: whether a number has an account
  POST /control/picture        {"target", "base64" | null, "hidden"?}: set or hide a profile picture
  POST /control/presence       {"to", "from", "state", "lastSeen"?}: a contact comes online, goes offline, types
  POST /control/groups         {"owner", "subject", "members", "admins"?, "lid"?, "hidePhones"?, "description"?}: create a group
  POST /control/groups/change  {"group", "actor", "action", "members"}: add, remove, promote or demote members
  POST /control/groups/subject {"group", "actor", "subject"}: rename a group
  POST /control/groups/description {"group", "actor", "description"}: describe a group
  POST /control/groups/reveal  {"group", "phone"}: a LID group shows this member's number from now on
  POST /control/groups/messages {"group", "from", "text", "pushName"?}: a member's message to the group
  POST /control/groups/fail-queries {"group", "times"}: the group's next metadata queries answer 500
  GET  /control/groups/{jid}   a group's members and roles
  POST /control/kick           {"target", "mode"?}: drop a device's sockets (close, replaced, restart, server-error)
  POST /control/revoke         {"target"}: unlink a device, as the phone does
`

function parse(): { port: number; host: string; state: string; mediaPort: number; mediaHost?: string } {
	try {
		const { values } = parseArgs({
			args: Bun.argv.slice(2),
			options: {
				port: { type: 'string', default: DEFAULTS.port },
				host: { type: 'string', default: DEFAULTS.host },
				state: { type: 'string', default: DEFAULTS.state },
				'media-port': { type: 'string', ...(DEFAULTS.mediaPort ? { default: DEFAULTS.mediaPort } : {}) },
				'media-host': { type: 'string', ...(DEFAULTS.mediaHost ? { default: DEFAULTS.mediaHost } : {}) },
				help: { type: 'boolean', short: 'h', default: false },
			},
		})
		if (values.help) {
			process.stdout.write(USAGE)
			process.exit(0)
		}
		const port = Number(values.port)
		if (!Number.isInteger(port) || port < 0 || port > 65_535) throw new Error(`--port must be a port number, not '${values.port}'`)
		// The CDN's port stays fixed too (media URLs in the server's database name it): one above the control port.
		const mediaPort = Number(values['media-port'] ?? port + 1)
		if (!Number.isInteger(mediaPort) || mediaPort < 0 || mediaPort > 65_535)
			throw new Error(`--media-port must be a port number, not '${values['media-port']}'`)
		return { port, host: values.host, state: values.state, mediaPort, ...(values['media-host'] ? { mediaHost: values['media-host'] } : {}) }
	} catch (error) {
		process.stderr.write(`stand-in: ${error instanceof Error ? error.message : String(error)}\n\n${USAGE}`)
		process.exit(2)
	}
}

const options = parse()
// Loaded after the flags are read: `--help` and a wrong flag answer without loading Baileys.
const { startStandIn } = await import('./server')
mkdirSync(dirname(options.state), { recursive: true })
const standIn = await startStandIn({
	port: options.port,
	hostname: options.host,
	statePath: options.state,
	mediaPort: options.mediaPort,
	mediaHost: options.mediaHost,
})
const base = standIn.httpUrl.replace('0.0.0.0', '127.0.0.1')
const wsUrl = standIn.wsUrl.replace('0.0.0.0', '127.0.0.1')
const post = (path: string, body: object) => `curl -s -X POST ${base}${path} -d '${JSON.stringify(body)}'`

console.log(`WhatsApp stand-in on ${wsUrl} (state in ${options.state})

Give the server these three settings:
  WA_WEBSOCKET_URL=${wsUrl}
  WA_ROOT_PUBLIC_KEY=${standIn.rootPublicKey}
  WA_MEDIA_CA_FILE=${standIn.mediaCa.path}
The third makes the server's runner trust the stand-in's media CDN (${standIn.mediaUrl}) beside the
system's roots, so media downloads and uploads verify the CDN's certificate against this CA.
(Any other Bun process can trust it with NODE_EXTRA_CA_CERTS=<the same path> at its start.)${
	new URL(standIn.mediaUrl).hostname === new URL(wsUrl).hostname
		? ''
		: `
The CDN's host is not the WebSocket's: also give WA_MEDIA_HOSTS=whatsapp.net,${new URL(standIn.mediaUrl).hostname}
(the server fetches received files only from the hosts that setting names).`
}

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
  ${post('/control/read', { to: '15551234567', from: '15559876543', ids: ['<message id>'] })}
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
