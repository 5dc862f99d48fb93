import { describe, expect, it } from 'bun:test'
import { domainEvent, type DomainEvent } from '../../src/core/catalogue'
import { createWebhook, dispatcherWorld, spawnDispatcher } from './helpers'

// Slow enough that both dispatchers are busy at once.
const w = dispatcherWorld(2, 204)

const dispatcher = () => spawnDispatcher(w.app, { WEBHOOK_CONCURRENCY: '4', WEBHOOK_POLL_MS: '20' })

describe('several webhook dispatchers', () => {
	it('share the work without ever sending one session’s events side by side: each event once, in per-session order', async () => {
		await createWebhook(w.api, { url: w.rx.url, events: ['session.qr.updated'] })
		const sessions = Array.from({ length: 6 }, () => Bun.randomUUIDv7())
		const events: DomainEvent[] = []
		for (let i = 0; i < 60; i++)
			for (const sessionId of sessions)
				events.push(domainEvent('session.qr.updated', { tenantId: w.api.user.user.tenantId, sessionId }, { qr: `qr-${i}` }))

		const dispatchers = await Promise.all([dispatcher(), dispatcher()])
		try {
			for (let i = 0; i < events.length; i += 40) await w.app.server.bus.publish(events.slice(i, i + 40))
			await w.rx.until((rs) => rs.length >= events.length, 'every event delivered', 45_000)
		} finally {
			for (const d of dispatchers) d.proc.kill()
			await Promise.all(dispatchers.map((d) => d.proc.exited))
		}
		// Nobody crashed, so nothing may arrive twice: two dispatchers holding one lane would send it twice.
		expect(w.rx.requests.map((r) => r.webhookId).sort()).toEqual(events.map((e) => e.id).sort())
		for (const sessionId of sessions) {
			const sent = events.filter((e) => e.sessionId === sessionId).map((e) => e.id)
			expect(w.rx.requests.filter((r) => r.json.sessionId === sessionId).map((r) => r.webhookId)).toEqual(sent)
		}
	}, 90_000)
})
