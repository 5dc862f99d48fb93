import { afterAll, beforeAll, describe, expect, it } from 'bun:test'
import { domainEvent } from '../../src/core/catalogue'
import { enqueueEvents } from '../../src/db/webhooks'
import { claimDue, type ClaimedDelivery } from '../../src/roles/webhooks/store'
import { createVerifiedUser } from '../helpers/accounts'
import { startTestApp, type TestApp } from '../helpers/app'
import { clientFor, type Client } from '../helpers/sessions'
import { createWebhook } from './helpers'

/**
 * A claim gives free slots in turns (see SlotShare): the lanes of an endpoint that sends fewer
 * lanes now come before older lanes of one that sends many. No dispatcher runs here: the test
 * claims itself.
 */

let app: TestApp
let busy: { client: Client; endpointId: string }
let quiet: { client: Client; endpointId: string }
const LOCK_MS = 60_000
/** Everything on the stream may go (the rows are recorded; no entry waits). */
const ALL = { ms: Number.MAX_SAFE_INTEGER, seq: 0, strict: false }

beforeAll(async () => {
	app = await startTestApp({ ROLES: 'api', WEBHOOK_ALLOW_PRIVATE_TARGETS: 'true' })
	const account = async () => {
		const client = clientFor(app, await createVerifiedUser(app))
		const { id } = await createWebhook(client, { url: 'http://127.0.0.1:9/hook', events: ['session.qr.updated'] })
		return { client, endpointId: id }
	}
	busy = await account()
	quiet = await account()
})
afterAll(async () => {
	await app.close()
})

/** Records one event for each of these sessions of the account, at a stream position of `ms`. */
async function record(account: { client: Client }, sessions: number, ms: number) {
	const tenantId = account.client.user.user.tenantId
	const events = Array.from({ length: sessions }, (_, i) => ({
		position: `${ms}-${i}`,
		envelope: domainEvent('session.qr.updated', { tenantId, sessionId: Bun.randomUUIDv7() }, { qr: `q${i}` }),
	}))
	await enqueueEvents(app.server.database.db, events)
}

const endpointsOf = (claimed: ClaimedDelivery[]) => claimed.map((d) => d.endpointId)

describe('a claim', () => {
	it('takes the lanes of an endpoint that sends fewer first, then the oldest', async () => {
		const now = Date.now()
		// The busy endpoint's lanes are older: by time alone they would go first.
		await record(busy, 6, now)
		await record(quiet, 2, now + 1)
		const db = app.server.database.db
		// The busy endpoint sends 3 lanes already, the quiet one none: the quiet one's 2 lanes come first.
		const turns = { endpointIds: [busy.endpointId], lanes: [3] }
		const first = await claimDue(db, 'test-a', 2, 64, LOCK_MS, ALL, [], turns)
		expect(endpointsOf(first)).toEqual([quiet.endpointId, quiet.endpointId])
		// With nothing of either sending, by age: the busy endpoint's lanes (the quiet one's are held now).
		const next = await claimDue(db, 'test-b', 2, 64, LOCK_MS, ALL, [])
		expect(endpointsOf(next)).toEqual([busy.endpointId, busy.endpointId])
	})

	it('takes lanes in turns when both endpoints have many: the one sending fewer catches up first', async () => {
		await record(busy, 4, Date.now() + 10)
		await record(quiet, 4, Date.now() + 11)
		const db = app.server.database.db
		// Sending: busy 4 (the 2 just claimed and 2 more), quiet 2. Four free slots: quiet gets two turns
		// to catch up (3rd and 4th lane), then one each.
		const turns = { endpointIds: [busy.endpointId, quiet.endpointId], lanes: [4, 2] }
		const claimed = await claimDue(db, 'test-c', 4, 64, LOCK_MS, ALL, [], turns)
		const quietCount = endpointsOf(claimed).filter((e) => e === quiet.endpointId).length
		expect(quietCount).toBe(3)
	})
})
