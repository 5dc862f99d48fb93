import { afterAll, beforeAll, describe, expect, it } from 'bun:test'
import { domainEvent, type DomainEvent } from '../../src/core/catalogue'
import { createVerifiedUser } from '../helpers/accounts'
import { startTestApp, type TestApp } from '../helpers/app'
import { clientFor, type Client } from '../helpers/sessions'
import { until } from '../helpers/until'
import { createWebhook, startReceiver, type Receiver } from './helpers'

/**
 * An endpoint whose receiver never answers (a black-holed address) and has many sessions' events
 * waiting must not hold every slot for its timeout, round after round, while other endpoints wait.
 */

const CONCURRENCY = 8
const SILENT_SESSIONS = 40
const OTHER_EVENTS = 12
let app: TestApp
let owner: Client
let other: Client
let fast: Receiver
let silent: ReturnType<typeof Bun.serve>
/**
 * Requests the silent receiver got: how many of its requests were open as each arrived, and
 * whether one had timed out before (its first wave is what arrived before any did).
 */
const arrivals: { openBefore: number; afterTimeout: boolean }[] = []
let open = 0
let aborted = 0

beforeAll(async () => {
	app = await startTestApp({
		ROLES: 'api,webhooks',
		WEBHOOK_ALLOW_PRIVATE_TARGETS: 'true',
		WEBHOOK_CONCURRENCY: String(CONCURRENCY),
		WEBHOOK_TIMEOUT_MS: '1000',
		// No retry within the test: the silent endpoint's lanes that wait are those never attempted.
		WEBHOOK_RETRY_SCHEDULE: '10m',
		WEBHOOK_POLL_MS: '50',
	})
	await app.server.roles.ready
	owner = clientFor(app, await createVerifiedUser(app))
	other = clientFor(app, await createVerifiedUser(app))
	silent = Bun.serve({
		port: 0,
		hostname: '127.0.0.1',
		fetch(req) {
			arrivals.push({ openBefore: open, afterTimeout: aborted > 0 })
			open++
			req.signal.addEventListener('abort', () => {
				open--
				aborted++
			})
			return new Promise<Response>(() => {})
		},
	})
	fast = await startReceiver()
})
afterAll(async () => {
	silent?.stop(true)
	await fast?.stop()
	await app.close()
})

const qr = (client: Client, sessionId: string, text: string) =>
	domainEvent('session.qr.updated', { tenantId: client.user.user.tenantId, sessionId }, { qr: text }) as DomainEvent

describe('an endpoint that never answers', () => {
	it('gets one attempt at a time once it timed out, and the other endpoints’ deliveries go meanwhile', async () => {
		await createWebhook(owner, { url: `http://127.0.0.1:${silent.port}/hook`, events: ['session.qr.updated'] })
		await createWebhook(other, { url: fast.url, events: ['session.qr.updated'] })
		await app.server.bus.publish(Array.from({ length: SILENT_SESSIONS }, (_, i) => qr(owner, Bun.randomUUIDv7(), `silent-${i}`)))
		// Its first attempts take every slot until they time out.
		await until(() => arrivals.length > 0, 'the first attempt at the silent receiver')
		await app.server.bus.publish(Array.from({ length: OTHER_EVENTS }, (_, i) => qr(other, Bun.randomUUIDv7(), `other-${i}`)))
		await fast.until((rs) => rs.length === OTHER_EVENTS, 'the other account’s events delivered', 15_000)
		// What the silent receiver got by then after its first attempts timed out: a probe or two (without
		// the breaker, its 32 older lanes would each have had a turn first).
		const probes = () => arrivals.filter((a) => a.afterTimeout)
		expect(probes().length).toBeLessThanOrEqual(3)
		// Each probe went alone: when it arrived, nothing else of the endpoint was open (or was closing).
		// Nothing of the first wave arrives once one of its attempts has timed out, so its size is known then.
		await until(() => aborted > 0, 'the first attempt timed out')
		const firstWave = arrivals.length - probes().length
		expect(firstWave).toBeLessThanOrEqual(CONCURRENCY)
		await until(() => aborted > firstWave, 'a probe after the first wave timed out')
		for (const a of probes()) expect(a.openBefore).toBeLessThanOrEqual(1)
	}, 30_000)
})
