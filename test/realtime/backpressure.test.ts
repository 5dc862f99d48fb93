import { afterAll, beforeAll, describe, expect, it } from 'bun:test'
import { connect, type Socket } from 'node:net'
import { createVerifiedUser } from '../helpers/accounts'
import type { TestApp } from '../helpers/app'
import { addSession, event, publish, startRealtimeApp, type Meta } from './helpers'

// A small send buffer, so a client that stops reading shows its effect quickly. After closing a
// socket Bun gives the client a part of the idle timeout to read what is queued (8 s of the
// default 30, 16 s from 32 on) before it drops the connection: the slow client gets the longer one,
// as it resumes only once the round that closed it is fanned out, which takes seconds on a loaded
// host. The idle client gets the shortest idle timeout Bun allows, so its ping comes quickly.
const SEND_BUFFER = 64 * 1024
let app: TestApp
let idleApp: TestApp
beforeAll(async () => {
	;[app, idleApp] = await Promise.all([
		startRealtimeApp({ WS_SEND_BUFFER_BYTES: String(SEND_BUFFER), WS_IDLE_TIMEOUT_SECONDS: '60' }),
		startRealtimeApp({ WS_IDLE_TIMEOUT_SECONDS: '8' }),
	])
})
afterAll(async () => {
	await Promise.all([app?.close(), idleApp?.close()])
})

interface Frame {
	opcode: number
	payload: Buffer
}

/**
 * A WebSocket client on a bare TCP socket, so the test decides when it reads: `pause()` stops
 * reading (the kernel buffers fill, then the server's), `resume()` goes on.
 */
async function rawClient(server: TestApp, query: string) {
	const { port } = new URL(server.url)
	const sock: Socket = connect(Number(port), '127.0.0.1')
	await new Promise<void>((resolve, reject) => sock.once('connect', resolve).once('error', reject))
	sock.write(
		`GET /ws/sessions?${query} HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n` +
			`Sec-WebSocket-Key: ${Buffer.from(crypto.getRandomValues(new Uint8Array(16))).toString('base64')}\r\nSec-WebSocket-Version: 13\r\n\r\n`,
	)
	let buffer = Buffer.alloc(0)
	let upgraded = false
	const frames: Frame[] = []
	const waiters = new Set<() => void>()
	sock.on('data', (chunk: Buffer) => {
		buffer = Buffer.concat([buffer, chunk])
		if (!upgraded) {
			const end = buffer.indexOf('\r\n\r\n')
			if (end < 0) return
			if (!buffer.subarray(0, end).toString().startsWith('HTTP/1.1 101')) throw new Error(buffer.toString())
			upgraded = true
			buffer = buffer.subarray(end + 4)
		}
		for (;;) {
			if (buffer.length < 2) break
			let length = buffer[1]! & 0x7f
			let offset = 2
			if (length === 126) {
				if (buffer.length < 4) break
				length = buffer.readUInt16BE(2)
				offset = 4
			} else if (length === 127) {
				if (buffer.length < 10) break
				length = Number(buffer.readBigUInt64BE(2))
				offset = 10
			}
			if (buffer.length < offset + length) break
			frames.push({ opcode: buffer[0]! & 0x0f, payload: buffer.subarray(offset, offset + length) })
			buffer = buffer.subarray(offset + length)
		}
		for (const w of waiters) w()
	})
	return {
		sock,
		frames,
		/** The first frame with `opcode` (1 text, 8 close, 9 ping). */
		frame(opcode: number, timeoutMs = 20_000): Promise<Frame> {
			return new Promise((resolve, reject) => {
				const check = () => {
					const found = frames.find((f) => f.opcode === opcode)
					if (!found) return
					clearTimeout(timer)
					waiters.delete(check)
					resolve(found)
				}
				const timer = setTimeout(() => {
					waiters.delete(check)
					reject(new Error(`no frame with opcode ${opcode} within ${timeoutMs} ms (${frames.length} frames)`))
				}, timeoutMs)
				waiters.add(check)
				check()
			})
		},
	}
}

/** A `session.messages.upsert` of about `bytes` bytes. */
const bigEvent = (meta: Meta, bytes: number) =>
	event(meta, 'session.messages.upsert', {
		type: 'notify',
		messages: [
			{
				key: {
					remoteJid: '4915100000001@s.whatsapp.net',
					fromMe: false,
					id: `3EB0${crypto.randomUUID().replaceAll('-', '').slice(0, 18).toUpperCase()}`,
				},
				timestamp: 1_767_225_600,
				type: 'conversation',
				text: 'x'.repeat(bytes),
				content: null,
			},
		],
	})

describe('/ws/sessions flow control', () => {
	it('closes a client that stops reading with 1013 and a reason, after everything it queued, skipping nothing', async () => {
		const owner = await createVerifiedUser(app)
		const session = await addSession(app, owner.user.tenantId)
		const meta = { tenantId: owner.user.tenantId, sessionId: session.id }
		const client = await rawClient(app, `accessToken=${owner.accessToken}`)
		await client.frame(1) // the snapshot
		client.sock.pause()

		// Publish until the server gives up on the client: the socket's kernel buffers fill first,
		// then its send buffer passes the bound and the server closes it. Each round waits until the
		// hub has fanned it out, so the bound counts what reached the socket, not what was queued.
		const hub = app.server.realtime!
		const closesBefore = hub.stats.slowConsumerCloses
		const published: string[] = []
		for (let round = 0; hub.stats.slowConsumerCloses === closesBefore; round++) {
			if (round === 200) throw new Error('the slow client was never cut off')
			published.push(...(await publish(app, ...Array.from({ length: 10 }, () => bigEvent(meta, 50_000)))))
			expect(await hub.until(published.at(-1)!, AbortSignal.timeout(10_000))).toBe(true)
		}

		client.sock.resume()
		const close = await client.frame(8)
		expect(close.payload.readUInt16BE(0)).toBe(1013)
		expect(close.payload.subarray(2).toString()).toBe('slow consumer: send buffer full; reconnect with since')
		// What it did get is the start of the stream after its snapshot, with no hole.
		const received = client.frames
			.filter((f) => f.opcode === 1)
			.slice(1)
			.map((f) => (JSON.parse(f.payload.toString()) as { id: string }).id)
		expect(received.length).toBeGreaterThan(0)
		expect(received).toEqual(published.slice(0, received.length))
		client.sock.destroy()
	})

	it('pings a client that stays idle, so proxies keep the connection', async () => {
		const owner = await createVerifiedUser(idleApp)
		const client = await rawClient(idleApp, `accessToken=${owner.accessToken}`)
		await client.frame(1)
		const ping = await client.frame(9)
		expect(ping.opcode).toBe(9)
		client.sock.destroy()
	})
})
