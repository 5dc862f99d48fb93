import { afterAll, beforeAll, describe, expect, it } from 'bun:test'
import { compareIds } from '../../src/bus'
import { DOMAIN_EVENTS } from '../../src/core/streams'
import { createVerifiedUser, type LoggedInUser } from '../helpers/accounts'
import type { TestApp } from '../helpers/app'
import { until } from '../helpers/until'
import { openSocket } from '../helpers/ws'
import { addSession, publish, qrEvent, startRealtimeApp, type Meta } from './helpers'

// The stream keeps about 100 entries (trimmed by whole nodes of 100), so a test can push a
// position out of retention by publishing a few hundred events.
let app: TestApp
beforeAll(async () => {
	app = await startRealtimeApp({ STREAM_MAX_LEN: '100' })
})
afterAll(async () => {
	await app.close()
})

async function tenant(): Promise<{ owner: LoggedInUser; meta: Meta }> {
	const owner = await createVerifiedUser(app)
	const session = await addSession(app, owner.user.tenantId)
	return { owner, meta: { tenantId: owner.user.tenantId, sessionId: session.id } }
}

const connect = (owner: LoggedInUser, since?: string) => openSocket(app.url, { accessToken: owner.accessToken, since })
const ids = (messages: { id?: string }[]) => messages.map((m) => m.id)

describe('resuming with ?since=', () => {
	it('replays what the client missed while away, then goes on live, without gap or duplicate', async () => {
		const { owner, meta } = await tenant()
		const other = { tenantId: Bun.randomUUIDv7(), sessionId: Bun.randomUUIDv7() }
		const first = connect(owner)
		await first.next()
		const seen = await publish(app, qrEvent(meta), qrEvent(meta), qrEvent(meta))
		const last = await first.next((m) => m.id === seen[2])
		first.close()
		await first.closed

		const missed = await publish(app, qrEvent(meta), qrEvent(other), qrEvent(meta), qrEvent(meta), qrEvent(other), qrEvent(meta))
		const again = connect(owner, last.id)
		const replayed = [await again.next(), await again.next(), await again.next(), await again.next()]
		expect(ids(replayed)).toEqual([missed[0], missed[2], missed[3], missed[5]])
		const live = await publish(app, qrEvent(meta), qrEvent(meta))
		expect(ids([await again.next(), await again.next()])).toEqual(live)
		expect(again.messages.map((m) => m.type)).not.toContain('session.snapshot')
		again.close()
	})

	it('answers a position older than the retention with session.resync_required, then a fresh snapshot and the live stream', async () => {
		const { owner, meta } = await tenant()
		const [old] = await publish(app, qrEvent(meta))
		const noise = { tenantId: Bun.randomUUIDv7(), sessionId: Bun.randomUUIDv7() }
		for (let i = 0; i < 3; i++) await publish(app, ...Array.from({ length: 100 }, () => qrEvent(noise)))
		const { firstId } = await app.server.bus.info(DOMAIN_EVENTS)
		expect(compareIds(firstId!, old!)).toBeGreaterThan(0)

		const ws = connect(owner, old)
		expect(await ws.next()).toMatchObject({
			type: 'session.resync_required',
			tenantId: meta.tenantId,
			data: { since: old, reason: 'trimmed', oldestId: firstId },
		})
		const snapshot = await ws.next()
		expect(snapshot.type).toBe('session.snapshot')
		const [live] = await publish(app, qrEvent(meta))
		expect((await ws.next()).id).toBe(live!)
		ws.close()
	})

	it.each([
		['malformed', 'not-a-position'],
		['malformed', '99999999999999999999-0'],
		['unknown', '99999999999999-0'],
		['trimmed', '1-0'],
	])('answers a %s position (%s) with session.resync_required and a snapshot', async (reason, since) => {
		const { owner, meta } = await tenant()
		await publish(app, qrEvent(meta))
		const ws = connect(owner, since)
		expect(await ws.next()).toMatchObject({ type: 'session.resync_required', data: { since, reason } })
		expect((await ws.next()).type).toBe('session.snapshot')
		ws.close()
	})

	it('answers a position inside the stream that was never an entry with session.resync_required', async () => {
		const { owner, meta } = await tenant()
		const [a] = await publish(app, qrEvent(meta))
		const [ms, seq] = a!.split('-')
		// An entry in a later millisecond leaves positions in between that were never used.
		await until(async () => {
			const [b] = await publish(app, qrEvent(meta))
			return Number(b!.split('-')[0]) > Number(ms)
		}, 'an entry in a later millisecond')
		const never = `${ms}-${Number(seq) + 1_000}`
		const ws = connect(owner, never)
		expect(await ws.next()).toMatchObject({ type: 'session.resync_required', data: { since: never, reason: 'unknown' } })
		ws.close()
	})
})
