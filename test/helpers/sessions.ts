import type { Session } from '../../src/modules/sessions/model'
import { startStandIn, type StandIn } from '@switchboard/standin'
import { createVerifiedUser, randomIp, type LoggedInUser } from './accounts'
import { startTestApp, type TestApp } from './app'
import { followEvents, type EventLog } from './event-log'
import { until } from './until'

export type { EventLog }

/** A session as the API shows it. */
export type ApiSession = Session

export interface ApiResponse<T = any> {
	status: number
	headers: Headers
	body: T
}

/** fetch for one signed-in user: JSON in and out, its own client address. */
export interface Client {
	user: LoggedInUser
	get<T = any>(path: string, headers?: Record<string, string>): Promise<ApiResponse<T>>
	post<T = any>(path: string, body?: unknown, headers?: Record<string, string>): Promise<ApiResponse<T>>
	patch<T = any>(path: string, body?: unknown, headers?: Record<string, string>): Promise<ApiResponse<T>>
	delete<T = any>(path: string): Promise<ApiResponse<T>>
	/** The raw response, for images. */
	fetch(path: string, init?: RequestInit): Promise<Response>
}

export function clientFor(app: TestApp, user: LoggedInUser): Client {
	const ip = randomIp()
	const raw = (path: string, init: RequestInit = {}) =>
		fetch(app.url + path, { ...init, headers: { 'x-forwarded-for': ip, ...user.headers, ...(init.headers as Record<string, string>) } })
	const call = async (method: string, path: string, body?: unknown, headers: Record<string, string> = {}) => {
		const res = await raw(path, {
			method,
			headers: { ...(body === undefined ? {} : { 'content-type': 'application/json' }), ...headers },
			body: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body),
		})
		const text = await res.text()
		let parsed: unknown = text
		try {
			parsed = text ? JSON.parse(text) : undefined
		} catch {}
		return { status: res.status, headers: res.headers, body: parsed as any }
	}
	return {
		user,
		get: (path, headers) => call('GET', path, undefined, headers),
		post: (path, body, headers) => call('POST', path, body, headers),
		patch: (path, body, headers) => call('PATCH', path, body, headers),
		delete: (path) => call('DELETE', path),
		fetch: raw,
	}
}

export interface SessionsWorld {
	standIn: StandIn
	app: TestApp
	events: EventLog
	/** A new tenant with a verified owner, as a client. */
	tenant(): Promise<Client>
	close(): Promise<void>
}

/** The whole server (api, runner, consumer) pointed at a WhatsApp stand-in. */
export async function startSessionsWorld(env: Record<string, string> = {}, options: Parameters<typeof startTestApp>[2] = {}): Promise<SessionsWorld> {
	const standIn = await startStandIn({ onError: () => {} })
	const app = await startTestApp(
		{
			ROLES: 'api,runner,consumer',
			WA_WEBSOCKET_URL: standIn.wsUrl,
			WA_ROOT_PUBLIC_KEY: standIn.rootPublicKey,
			WA_MEDIA_CA_FILE: standIn.mediaCa.path,
			COMMAND_PARTITIONS: '4',
			OUTBOX_RELAY_INTERVAL_MS: '50',
			...env,
		},
		{},
		options,
	)
	await app.server.roles.ready
	const events = followEvents(app.server.bus)
	return {
		standIn,
		app,
		events,
		tenant: async () => clientFor(app, await createVerifiedUser(app)),
		async close() {
			await events.stop()
			await app.close()
			await standIn.stop()
		},
	}
}

/** The session once the consumer has written the status a test waits for. */
export function untilStatus(api: Client, id: string, status: string, timeoutMs?: number): Promise<ApiSession> {
	return until(
		async () => {
			const res = await api.get<ApiSession>(`/sessions/${id}`)
			return res.status === 200 && res.body.status === status && res.body
		},
		`session ${id} to be ${status}`,
		timeoutMs,
	)
}

/** POST /sessions → QR → scanned by `phone` → connected, through the API. */
export async function pairedSession(world: SessionsWorld, api: Client, phone: string, name?: string): Promise<ApiSession> {
	const created = await api.post<ApiSession>('/sessions', name ? { name } : {})
	if (created.status !== 201) throw new Error(`POST /sessions: ${created.status} ${JSON.stringify(created.body)}`)
	const { data } = await world.events.waitFor('session.qr.updated', created.body.id)
	await world.standIn.scanQr(data.qr, phone)
	await world.events.waitFor('session.status.connected', created.body.id)
	return untilStatus(api, created.body.id, 'connected')
}
