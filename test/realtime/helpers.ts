import { sessions } from '../../src/db/schema'
import { domainEvent, type DomainEvent, type DomainEventType, type EventData } from '../../src/core/catalogue'
import type { RunningServer } from '../../src/server'
import { startTestApp, type TestApp } from '../helpers/app'
import type { ServerOverrides } from '../../src/server'

/** The app without the runner role: the tests produce the domain events themselves, on the bus, as the runner would. */
export const startRealtimeApp = (env: Record<string, string | undefined> = {}, overrides: ServerOverrides = {}) =>
	startTestApp({ ROLES: 'api,consumer', ...env }, overrides)

/** A session row of the tenant, as POST /sessions leaves it. */
export async function addSession(app: TestApp | RunningServer, tenantId: string, name = 'phone') {
	const server = 'server' in app ? app.server : app
	const [row] = await server.database.db.insert(sessions).values({ tenantId, name, status: 'stopped', desiredState: 'stopped' }).returning()
	return row!
}

export type Meta = { tenantId: string; sessionId: string }

let n = 0
/** A `session.qr.updated` whose QR numbers it, so tests can tell events apart. */
export const qrEvent = (meta: Meta, qr = `qr-${++n}`) => domainEvent('session.qr.updated', meta, { qr })

export const event = <K extends DomainEventType>(meta: Meta, type: K, data: EventData<K>) => domainEvent(type, meta, data)

/** Publishes on `domain-events` as the runner does; resolves with the stream positions. */
export async function publish(app: TestApp | RunningServer, ...events: DomainEvent[]): Promise<string[]> {
	const server = 'server' in app ? app.server : app
	return (await server.bus.publish(events)).map((p) => p.id)
}
