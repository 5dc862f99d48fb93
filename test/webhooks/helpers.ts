import { afterAll, beforeAll } from 'bun:test'
import { Webhook } from 'standardwebhooks'
import type { DomainEventType, EventData } from '../../src/core/catalogue'
import { createVerifiedUser } from '../helpers/accounts'
import { startTestApp, type TestApp } from '../helpers/app'
import { spawnServer } from '../helpers/process'
import { REDIS_TEST_URL } from '../helpers/redis'
import { type Client, clientFor } from '../helpers/sessions'
import { until } from '../helpers/until'
import { ALICE, message } from '../events/fixtures'

/** One request a receiver got. */
export interface Received {
	webhookId: string
	/** The Host header. */
	host: string
	timestamp: string
	signature: string
	body: string
	json: { id: string | null; eventId: string; type: string; tenantId: string; sessionId: string | null; occurredAt: string; data: any }
	/** What the receiver answered. */
	status: number
}

export type Respond = (request: Received, n: number) => Response | Promise<Response>

/**
 * A webhook receiver on a free port of 127.0.0.1 (Bun.serve), recording every request it gets and
 * what it answered; `respond` decides the answer (default 204). It can go down and come back on
 * the same port.
 */
export async function startReceiver(respond: Respond = () => new Response(null, { status: 204 })) {
	const requests: Received[] = []
	let n = 0
	let answer = respond
	const serve = (port: number) =>
		Bun.serve({
			port,
			hostname: '127.0.0.1',
			async fetch(req) {
				const body = await req.text()
				const r: Received = {
					webhookId: req.headers.get('webhook-id') ?? '',
					host: req.headers.get('host') ?? '',
					timestamp: req.headers.get('webhook-timestamp') ?? '',
					signature: req.headers.get('webhook-signature') ?? '',
					body,
					json: JSON.parse(body),
					status: 0,
				}
				const res = await answer(r, n++)
				r.status = res.status
				requests.push(r)
				return res
			},
		})
	let server = serve(0)
	const port = server.port!
	return {
		url: `http://127.0.0.1:${port}/hook`,
		port,
		requests,
		/** Requests answered with a 2xx: what the receiver accepted. */
		accepted: () => requests.filter((r) => r.status >= 200 && r.status < 300),
		respondWith(next: Respond) {
			answer = next
		},
		/** Resolves once `check` holds over the requests so far. */
		until(check: (requests: Received[]) => boolean, what: string, timeoutMs = 20_000) {
			return until(() => check(requests), what, timeoutMs)
		},
		async down() {
			await server.stop(true)
		},
		up() {
			server = serve(port)
		},
		async stop() {
			await server.stop(true)
		},
	}
}

export type Receiver = Awaited<ReturnType<typeof startReceiver>>

/** Checks a request with the Standard Webhooks verifier; throws when the signature does not verify. */
export function verify(secret: string, r: Received) {
	return new Webhook(secret).verify(r.body, { 'webhook-id': r.webhookId, 'webhook-timestamp': r.timestamp, 'webhook-signature': r.signature })
}

export interface CreatedWebhook {
	id: string
	secret: string
	url: string
	events: string[]
	sessionIds: string[] | null
	enabled: boolean
}

export async function createWebhook(api: Client, body: Record<string, unknown>): Promise<CreatedWebhook> {
	const res = await api.post<CreatedWebhook>('/webhooks', body)
	if (res.status !== 201) throw new Error(`POST /webhooks: ${res.status} ${JSON.stringify(res.body)}`)
	return res.body
}

/** A session of the tenant, created through the API (no runner needed: it stays `starting`). */
export async function createSession(api: Client, name = 'hooks'): Promise<string> {
	const res = await api.post<{ id: string }>('/sessions', { name })
	if (res.status !== 201) throw new Error(`POST /sessions: ${res.status} ${JSON.stringify(res.body)}`)
	return res.body.id
}

/**
 * A valid `data` for every domain event type. Typed as a record over the catalogue, so a new event
 * type does not compile until it has an example here (and is covered by the every-type test).
 */
export function sampleData(mediaId: string): { [K in DomainEventType]: EventData<K> } {
	const photo = message('3EB0PHOTO', {
		type: 'image',
		text: 'a photo',
		media: { id: mediaId, kind: 'image', mimetype: 'image/jpeg', state: 'stored', size: 1234 },
	} as never)
	return {
		'session.created': { name: 'hooks' },
		'session.deleted': {},
		'session.qr.updated': { qr: '2@qr-code' },
		'session.pairing_code.updated': { code: 'ABCD1234' },
		'session.status.connected': { jid: ALICE, name: 'Alice' },
		'session.status.disconnected': { status: 'reconnecting', reason: 'connection_lost', code: 428 },
		'session.history.sync': { messages: [message('3EB0HIST')], chats: [{ jid: ALICE }], contacts: [{ jid: ALICE }], lidPnMappings: [] },
		'session.messages.upsert': { messages: [photo], type: 'notify' },
		'session.messages.update': { updates: [{ key: photo.key, status: 4 }] },
		'session.contacts.upsert': { contacts: [{ jid: ALICE, notify: 'Alice' }] },
		'session.chats.upsert': { chats: [{ jid: ALICE, unreadCount: 1 }] },
		'session.media.updated': { id: mediaId, message: photo.key, state: 'stored', size: 1234 },
		'session.presence.updated': { chatJid: ALICE, participant: ALICE, presence: 'typing' },
		'session.groups.upsert': {
			groups: [{ jid: '120363000000000001@g.us', subject: 'Team', participants: [{ jid: ALICE, role: 'admin' }] }],
		},
		'session.groups.update': { updates: [{ jid: '120363000000000001@g.us', subject: 'Renamed' }] },
		'session.group_participants.update': { groupJid: '120363000000000001@g.us', action: 'promote', participants: [{ jid: ALICE }] },
		'session.command.completed': {
			commandId: Bun.randomUUIDv7(),
			command: 'session.groups.create',
			result: { groupJid: '120363000000000001@g.us' },
		},
		'session.command.failed': {
			commandId: Bun.randomUUIDv7(),
			command: 'session.messages.send',
			error: { code: 'NOT_CONNECTED', message: 'not connected' },
		},
	}
}

/** A process that runs only the webhooks role, on `app`'s database and Redis prefix; `env` adds its settings. */
export function spawnDispatcher(app: TestApp, env: Record<string, string>) {
	return spawnServer({
		NODE_ENV: 'test',
		DATABASE_URL: app.database.url,
		REDIS_URL: REDIS_TEST_URL,
		REDIS_PREFIX: app.redisPrefix,
		ROLES: 'webhooks',
		WEBHOOK_ALLOW_PRIVATE_TARGETS: 'true',
		LOG_LEVEL: 'info',
		...env,
	})
}

export interface DispatcherWorld {
	/** The api role alone (the test spawns its webhook dispatchers), private targets allowed. */
	app: TestApp
	/** Its tenant's signed-in owner. */
	api: Client
	rx: Receiver
}

/**
 * What the dispatcher-process tests share, set up before the file's tests and torn down after:
 * the app, its owner, and a receiver that answers `status` after `delayMs` (slow enough that
 * deliveries are still in flight when the test acts on the dispatchers).
 */
export function dispatcherWorld(delayMs: number, status: number): DispatcherWorld {
	const world = {} as DispatcherWorld
	beforeAll(async () => {
		world.app = await startTestApp({ ROLES: 'api', WEBHOOK_ALLOW_PRIVATE_TARGETS: 'true' })
		world.api = clientFor(world.app, await createVerifiedUser(world.app))
		world.rx = await startReceiver(async () => {
			await Bun.sleep(delayMs)
			return new Response(null, { status })
		})
	})
	afterAll(async () => {
		await world.rx.stop()
		await world.app.close()
	})
	return world
}
