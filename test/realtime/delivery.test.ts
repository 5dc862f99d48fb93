import { afterAll, beforeAll, describe, expect, it } from 'bun:test'
import { compareIds } from '../../src/bus'
import { domainEvent, type DomainEvent, type DomainEventType, type EventData } from '../../src/core/catalogue'
import { DOMAIN_EVENTS } from '../../src/core/streams'
import { createVerifiedUser, type LoggedInUser } from '../helpers/accounts'
import type { TestApp } from '../helpers/app'
import { openSocket, type TestSocket, type WsMessage } from '../helpers/ws'
import { addSession, event, publish, qrEvent, startRealtimeApp, type Meta } from './helpers'

let app: TestApp
beforeAll(async () => {
	app = await startRealtimeApp()
})
afterAll(async () => {
	await app.close()
})

const CHAT = '4915100000001@s.whatsapp.net'
const message = {
	key: { remoteJid: CHAT, fromMe: false, id: '3EB0000000000000000001' },
	timestamp: 1_767_225_600,
	type: 'conversation',
	text: 'hi',
	content: { conversation: 'hi' },
}

/** One valid `data` per domain event type: adding a type to the catalogue makes this fail to compile until it is covered. */
const SAMPLES: { [K in DomainEventType]: EventData<K> } = {
	'session.created': { name: 'phone' },
	'session.qr.updated': { qr: '2@abc' },
	'session.pairing_code.updated': { code: 'ABCD1234' },
	'session.status.connected': { jid: '4915100000009@s.whatsapp.net', name: 'Me' },
	'session.status.disconnected': { status: 'reconnecting', reason: 'connection_lost', code: 428 },
	'session.history.sync': {
		messages: [message],
		chats: [{ jid: CHAT }],
		contacts: [{ jid: CHAT, notify: 'Alice' }],
		lidPnMappings: [],
		progress: 100,
	},
	'session.messages.upsert': { messages: [message], type: 'notify' },
	'session.messages.update': { updates: [{ key: message.key, status: 4 }] },
	'session.contacts.upsert': { contacts: [{ jid: CHAT, name: 'Alice' }] },
	'session.chats.upsert': { chats: [{ jid: CHAT, unreadCount: 1 }] },
	'session.media.updated': { id: Bun.randomUUIDv7(), message: message.key, state: 'stored', size: 3, sha256: 'a'.repeat(64) },
	'session.presence.updated': { chatJid: CHAT, participant: CHAT, presence: 'typing' },
	'session.command.failed': {
		commandId: Bun.randomUUIDv7(),
		command: 'session.messages.send',
		error: { code: 'NOT_CONNECTED', message: 'not connected' },
	},
	'session.deleted': {},
}
// session.deleted last: after it the session is gone.
const TYPES = (Object.keys(SAMPLES) as DomainEventType[]).sort((a, b) => Number(a === 'session.deleted') - Number(b === 'session.deleted'))
const sample = (meta: Meta, type: DomainEventType) => event(meta, type as 'session.created', SAMPLES[type] as EventData<'session.created'>)

/** A logged-in owner of a new tenant with one session, and a socket past its snapshot. */
async function tenantWithSocket(): Promise<{ owner: LoggedInUser; meta: Meta; ws: TestSocket; snapshot: WsMessage }> {
	const owner = await createVerifiedUser(app)
	const session = await addSession(app, owner.user.tenantId)
	const ws = openSocket(app.url, { accessToken: owner.accessToken })
	const snapshot = await ws.next()
	return { owner, meta: { tenantId: owner.user.tenantId, sessionId: session.id }, ws, snapshot }
}

describe('/ws/sessions delivery', () => {
	it('opens with a snapshot of every session of the tenant and its state', async () => {
		const owner = await createVerifiedUser(app)
		const phone = await addSession(app, owner.user.tenantId, 'phone')
		const shop = await addSession(app, owner.user.tenantId, 'shop')
		const [, lastId] = await publish(
			app,
			event({ tenantId: owner.user.tenantId, sessionId: phone.id }, 'session.status.connected', {
				jid: '4915100000009@s.whatsapp.net',
				phoneNumber: '4915100000009',
			}),
			qrEvent({ tenantId: owner.user.tenantId, sessionId: shop.id }, '2@scan-me'),
		)
		const other = await createVerifiedUser(app)
		await addSession(app, other.user.tenantId, 'not yours')

		const ws = openSocket(app.url, { accessToken: owner.accessToken })
		const snapshot = await ws.next()
		expect(snapshot).toMatchObject({ type: 'session.snapshot', tenantId: owner.user.tenantId })
		// Exact at its position whether or not the consumer has written those two events yet.
		expect(snapshot.id).toBe(lastId!)
		expect(snapshot.data.sessions).toEqual([
			{
				id: phone.id,
				name: 'phone',
				status: 'connected',
				desiredState: 'stopped',
				phoneNumber: '4915100000009',
				jid: '4915100000009@s.whatsapp.net',
				lid: null,
				qr: null,
				pairingCode: null,
				lastError: null,
				ownerRunner: null,
				createdAt: phone.createdAt.toISOString(),
				updatedAt: expect.any(String),
			},
			expect.objectContaining({ id: shop.id, name: 'shop', status: 'qr', qr: '2@scan-me' }),
		])
		ws.close()
	})

	it('delivers every domain event type to its tenant and no other, in stream order, as the envelope with its stream position', async () => {
		const alice = await tenantWithSocket()
		const bob = await tenantWithSocket()
		const published: { tenantId: string; id: string; envelope: DomainEvent }[] = []
		for (const type of TYPES)
			for (const t of [alice, bob]) {
				const envelope = sample(t.meta, type)
				const [id] = await publish(app, envelope)
				published.push({ tenantId: t.meta.tenantId, id: id!, envelope })
			}
		for (const t of [alice, bob]) {
			const received = await t.ws.collect((m) => m.type === 'session.deleted')
			const expected = published
				.filter((p) => p.tenantId === t.meta.tenantId)
				.map(({ id, envelope: { id: eventId, type, tenantId, sessionId, occurredAt, data } }) => ({
					id,
					eventId,
					type,
					tenantId,
					sessionId,
					occurredAt,
					data,
				}))
			expect(received).toEqual(expected as WsMessage[])
			t.ws.close()
		}
	})

	it('loses and doubles nothing between the snapshot and the live stream while events keep coming', async () => {
		const { owner, meta, ws: first } = await tenantWithSocket()
		first.close()
		const noise = { tenantId: Bun.randomUUIDv7(), sessionId: Bun.randomUUIDv7() }
		// A producer writing the tenant's QR codes (and another tenant's) as fast as it can, with
		// strictly increasing times so the newest in the stream is also the newest by time.
		let producing = true
		let seq = 0
		let published = 0
		let onPublished: (() => void) | undefined
		const base = Date.now()
		const producer = (async () => {
			while (producing) {
				const occurredAt = new Date(base + ++seq)
				await publish(app, domainEvent('session.qr.updated', { ...meta, occurredAt }, { qr: `qr-${seq}` }), qrEvent(noise))
				published++
				onPublished?.()
			}
		})()
		/** Resolves once the producer has published `count` more rounds. */
		const publishedMore = (count: number) => {
			const target = published + count
			return new Promise<void>((resolve) => {
				onPublished = () => published >= target && resolve()
			})
		}
		const sockets: TestSocket[] = []
		for (let i = 0; i < 12; i++) {
			sockets.push(openSocket(app.url, { accessToken: owner.accessToken }))
			await publishedMore(5) // stagger the joins across the producer's stream
		}
		// Every snapshot is taken while the producer runs, so each falls somewhere inside its stream.
		const snapshots = await Promise.all(sockets.map((ws) => ws.next()))
		producing = false
		await producer
		const [markerId] = await publish(app, event(meta, 'session.chats.upsert', { chats: [{ jid: CHAT }] }))
		const stream = (await app.server.bus.read(DOMAIN_EVENTS, { after: '0', count: 100_000 })).filter((e) => e.envelope.tenantId === meta.tenantId)

		for (const [i, ws] of sockets.entries()) {
			const snapshot = snapshots[i]!
			const received = await ws.collect((m) => m.id === markerId)
			const expected = stream.filter((e) => compareIds(e.id, snapshot.id!) > 0).map((e) => e.id)
			expect(received.map((m) => m.id)).toEqual(expected)
			// The snapshot shows the newest QR at or before its own position.
			const shown = stream.filter((e) => compareIds(e.id, snapshot.id!) <= 0 && e.envelope.type === 'session.qr.updated').at(-1)
			expect(snapshot.data.sessions[0].qr).toBe(shown ? (shown.envelope.data as { qr: string }).qr : null)
			ws.close()
		}
	})

	it('resumes with ?since= without gap or duplicate while events keep coming', async () => {
		const { owner, meta, ws: first } = await tenantWithSocket()
		first.close()
		let producing = true
		const producer = (async () => {
			while (producing) await publish(app, qrEvent(meta))
		})()
		const resumed: { ws: TestSocket; since: string }[] = []
		for (let i = 0; i < 6; i++) {
			const ws = openSocket(app.url, { accessToken: owner.accessToken })
			await ws.next()
			const last = await ws.next((m) => m.type === 'session.qr.updated')
			ws.close()
			await ws.closed
			resumed.push({ ws: openSocket(app.url, { accessToken: owner.accessToken, since: last.id }), since: last.id! })
		}
		producing = false
		await producer
		const [marker] = await publish(app, qrEvent(meta, 'marker'))
		const stream = (await app.server.bus.read(DOMAIN_EVENTS, { after: '0', count: 100_000 })).filter((e) => e.envelope.tenantId === meta.tenantId)
		for (const { ws, since } of resumed) {
			const received = await ws.collect((m) => m.id === marker)
			expect(received.map((m) => m.id)).toEqual(stream.filter((e) => compareIds(e.id, since) > 0).map((e) => e.id))
			ws.close()
		}
	})

	it('documents the socket in the OpenAPI description', async () => {
		const doc = (await (await fetch(`${app.url}/swagger/json`)).json()) as {
			paths: Record<string, Record<string, { parameters?: { name: string }[] }>>
		}
		const route = doc.paths['/ws/sessions']
		expect(route).toBeDefined()
		expect(
			Object.values(route!)[0]!
				.parameters?.map((p) => p.name)
				.sort(),
		).toEqual(['accessToken', 'since'])
	})
})
