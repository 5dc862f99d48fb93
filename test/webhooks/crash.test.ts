import { describe, expect, it } from 'bun:test'
import { domainEvent, type DomainEvent } from '../../src/core/catalogue'
import { createWebhook, dispatcherWorld, spawnDispatcher } from './helpers'

// A receiver slow enough that the burst is still going out when the dispatcher dies.
const w = dispatcherWorld(5, 200)

const dispatcher = () =>
	spawnDispatcher(w.app, {
		WEBHOOK_TIMEOUT_MS: '1000',
		WEBHOOK_CONCURRENCY: '8',
		WEBHOOK_POLL_MS: '50',
		EVENT_CLAIM_IDLE_MS: '500',
	})

describe('the webhooks role', () => {
	it('loses nothing when its process is killed (kill -9) mid-burst: a second one delivers the rest, in per-session order', async () => {
		await createWebhook(w.api, { url: w.rx.url, events: ['session.qr.updated'] })
		const sessions = Array.from({ length: 5 }, () => Bun.randomUUIDv7())
		const events: DomainEvent[] = []
		for (let i = 0; i < 80; i++)
			for (const sessionId of sessions)
				events.push(domainEvent('session.qr.updated', { tenantId: w.api.user.user.tenantId, sessionId }, { qr: `qr-${i}` }))

		const first = await dispatcher()
		for (let i = 0; i < events.length; i += 50) await w.app.server.bus.publish(events.slice(i, i + 50))
		await w.rx.until((rs) => rs.length >= 60, 'the first deliveries')
		first.proc.kill(9)
		await first.proc.exited
		const beforeKill = new Set(w.rx.accepted().map((r) => r.webhookId)).size
		expect(beforeKill).toBeLessThan(events.length)

		const second = await dispatcher()
		try {
			await w.rx.until((rs) => new Set(rs.map((r) => r.webhookId)).size === events.length, 'every event delivered', 45_000)
		} finally {
			second.proc.kill()
			await second.proc.exited
		}
		const firstSeen = new Map<string, string>()
		for (const r of w.rx.accepted()) if (!firstSeen.has(r.webhookId)) firstSeen.set(r.webhookId, r.json.sessionId!)
		for (const sessionId of sessions) {
			const sent = events.filter((e) => e.sessionId === sessionId).map((e) => e.id)
			expect([...firstSeen].filter(([, s]) => s === sessionId).map(([id]) => id)).toEqual(sent)
		}
		// Only what was in flight at the kill may arrive twice (at most the dispatcher's concurrency).
		expect(w.rx.requests.length - events.length).toBeLessThanOrEqual(8)
	}, 90_000)
})
