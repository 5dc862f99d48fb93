import { afterAll, beforeAll, describe, expect, it } from 'bun:test'
import type { GroupConsumer } from '../../src/bus'
import { domainEvent, type DomainEvent } from '../../src/core/catalogue'
import { DOMAIN_EVENTS } from '../../src/core/streams'
import { CONSUMER_GROUP } from '../../src/core/streams'
import { applyEvents } from '../../src/db/projection'
import { createVerifiedUser, type LoggedInUser } from '../helpers/accounts'
import type { TestApp } from '../helpers/app'
import { openSocket } from '../helpers/ws'
import { addSession, publish, startRealtimeApp, type Meta } from './helpers'

// No consumer role here: each test plays the consumer (its group, its writes) to put the rows
// behind the stream in a chosen way, and checks that the snapshot is exact at its position anyway.
let app: TestApp
beforeAll(async () => {
	app = await startRealtimeApp({ ROLES: 'api' })
})
afterAll(async () => {
	await app.close()
})

const JID = '4915100000009@s.whatsapp.net'
let clock = Date.now()
const at = () => new Date((clock += 1_000))
const connected = (meta: Meta, occurredAt = at()) => domainEvent('session.status.connected', { ...meta, occurredAt }, { jid: JID })
const qr = (meta: Meta, code: string, occurredAt = at()) => domainEvent('session.qr.updated', { ...meta, occurredAt }, { qr: code })

async function tenant(): Promise<{ owner: LoggedInUser; meta: Meta }> {
	const owner = await createVerifiedUser(app)
	const session = await addSession(app, owner.user.tenantId)
	return { owner, meta: { tenantId: owner.user.tenantId, sessionId: session.id } }
}

async function snapshotOf(owner: LoggedInUser) {
	const ws = openSocket(app.url, { accessToken: owner.accessToken })
	const snapshot = await ws.next()
	ws.close()
	expect(snapshot.type).toBe('session.snapshot')
	return snapshot as { id: string; data: { sessions: { id: string; status: string; qr: string | null; jid: string | null }[] } }
}

/**
 * The consumer group, with a handler the test controls: it writes what it reads unless `hold` keeps
 * it waiting. `received`/`applied` resolve once that many events were read/written.
 */
async function consumer(hold?: Promise<void>) {
	let read = 0
	let written = 0
	const waiters: (() => void)[] = []
	const changed = () => {
		for (const w of waiters.splice(0)) w()
	}
	const until = async (done: () => boolean) => {
		while (!done()) await new Promise<void>((resolve) => waiters.push(resolve))
	}
	const group: GroupConsumer = await app.server.bus.consume({
		group: CONSUMER_GROUP,
		streams: [DOMAIN_EVENTS],
		claimIdleMs: 60_000,
		async handle(batch) {
			read += batch.length
			changed()
			if (hold) await hold
			await applyEvents(
				app.server.database.db,
				batch.map((d) => d.envelope as DomainEvent),
			)
			written += batch.length
			changed()
		},
	})
	return {
		group,
		received: (count: number) => until(() => read >= count),
		applied: (count: number) => until(() => written >= count),
	}
}

describe('the snapshot', () => {
	it('applies the whole retained stream when no consumer group exists yet', async () => {
		const { owner, meta } = await tenant()
		const [, last] = await publish(app, connected(meta), qr(meta, 'before-any-consumer'))
		const snapshot = await snapshotOf(owner)
		expect(snapshot.id).toBe(last!)
		expect(snapshot.data.sessions).toEqual([expect.objectContaining({ id: meta.sessionId, status: 'qr', qr: 'before-any-consumer', jid: JID })])
	})

	it('shows a session whose events it applied itself in exactly the shape GET /sessions has', async () => {
		const { owner, meta } = await tenant()
		const first = connected(meta)
		const disconnected = domainEvent(
			'session.status.disconnected',
			{ ...meta, occurredAt: at() },
			{ status: 'reconnecting', reason: 'connection_lost', code: 428 },
		)
		await publish(app, first, disconnected)
		const snapshot = await snapshotOf(owner)
		const viaRest = (await (await fetch(`${app.url}/sessions/${meta.sessionId}`, { headers: owner.headers })).json()) as Record<string, unknown>
		expect(Object.keys(snapshot.data.sessions[0]!).sort()).toEqual(Object.keys(viaRest).sort())
		expect(snapshot.data.sessions[0]).toMatchObject({ status: 'reconnecting', jid: JID })
	})

	it('applies events the consumer has read but not yet written (pending in its group)', async () => {
		const { owner, meta } = await tenant()
		let release!: () => void
		const c = await consumer(new Promise((r) => (release = r)))
		try {
			const [last] = await publish(app, qr(meta, 'pending'))
			await c.received(1)
			const snapshot = await snapshotOf(owner)
			expect(snapshot.id).toBe(last!)
			expect(snapshot.data.sessions[0]).toMatchObject({ status: 'qr', qr: 'pending' })
		} finally {
			release()
			await c.group.stop()
		}
	})

	it('takes what the consumer wrote from the row and applies what it has not read yet', async () => {
		const { owner, meta } = await tenant()
		const c = await consumer()
		await publish(app, connected(meta))
		await c.applied(1)
		await c.group.stop()
		const [last] = await publish(app, qr(meta, 'unread'))
		const snapshot = await snapshotOf(owner)
		expect(snapshot.id).toBe(last!)
		expect(snapshot.data.sessions[0]).toMatchObject({ status: 'qr', qr: 'unread', jid: JID })
	})

	it('keeps the newer state the row already has over an older event not yet written', async () => {
		const { owner, meta } = await tenant()
		const older = at()
		await applyEvents(app.server.database.db, [connected(meta)])
		await publish(app, qr(meta, 'stale', older))
		const snapshot = await snapshotOf(owner)
		expect(snapshot.data.sessions[0]).toMatchObject({ status: 'connected', qr: null })
	})

	it('leaves out a session whose deletion is in the stream though its row is still there', async () => {
		const { owner, meta } = await tenant()
		const kept = await addSession(app, owner.user.tenantId, 'kept')
		await publish(app, domainEvent('session.deleted', meta, {}))
		const snapshot = await snapshotOf(owner)
		expect(snapshot.data.sessions.map((s) => s.id)).toEqual([kept.id])
	})
})
