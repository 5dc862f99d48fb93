import { afterAll, beforeAll, describe, expect, it } from 'bun:test'
import { createVerifiedUser, type LoggedInUser } from '../helpers/accounts'
import type { TestApp } from '../helpers/app'
import { clientFor } from '../helpers/sessions'
import { until } from '../helpers/until'
import { openSocket } from '../helpers/ws'
import { addSession, publish, qrEvent, startRealtimeApp } from '../realtime/helpers'
import { METRICS_TOKEN, sample, scrapeText, untilSample } from './helpers'

// The api and the consumer, the consumer in its own Worker (PostgreSQL + Redis): what the consumer
// records reaches /metrics only through the Worker's registry.
let app: TestApp
let alice: LoggedInUser

beforeAll(async () => {
	app = await startRealtimeApp({ METRICS_ENABLED: 'true', METRICS_TOKEN })
	await app.server.roles.ready
	alice = await createVerifiedUser(app)
})
afterAll(() => app.close())

describe('/metrics after activity', () => {
	it('counts HTTP requests by route template, never by the path asked for', async () => {
		const api = clientFor(app, alice)
		const id = crypto.randomUUID()
		expect((await api.get(`/sessions/${id}`)).status).toBe(404)
		const text = await scrapeText(app)
		expect(sample(text, 'switchboard_http_requests_total{method="GET",route="/sessions/:id",status="404"}')).toBeGreaterThanOrEqual(1)
		expect(text).toContain('switchboard_http_request_duration_seconds_bucket{le="0.001",method="GET",route="/sessions/:id",status="404"}')
		expect(text).not.toContain(id)
	})

	it('puts every unknown path under one label', async () => {
		const probe = `/wp-admin/${crypto.randomUUID()}`
		expect((await fetch(app.url + probe)).status).toBe(404)
		const text = await scrapeText(app)
		expect(sample(text, 'switchboard_http_requests_total{method="GET",route="unmatched",status="404"}')).toBeGreaterThanOrEqual(1)
		expect(text).not.toContain(probe)
	})

	it('counts open WebSockets', async () => {
		const ws = openSocket(app.url, { accessToken: alice.accessToken })
		await ws.next((m) => m.type === 'session.snapshot')
		expect(sample(await scrapeText(app), 'switchboard_websocket_connections')).toBe(1)
		ws.close()
		await ws.closed
	})

	it("includes the consumer Worker's throughput, and sessions by status once the event is applied", async () => {
		const session = await addSession(app, alice.user.tenantId)
		await publish(app, qrEvent({ tenantId: alice.user.tenantId, sessionId: session.id }))
		const text = await untilSample(app, 'switchboard_consumer_events_total{type="session.qr.updated"}')
		expect(sample(text, 'switchboard_consumer_batches_total{outcome="ok"}')).toBeGreaterThanOrEqual(1)
		expect(sample(text, 'switchboard_event_loop_delay_p99_seconds{thread="consumer"}')).toBeGreaterThanOrEqual(0)
		expect(sample(text, 'switchboard_metrics_source_up{source="consumer"}')).toBe(1)
		await untilSample(app, 'switchboard_sessions{status="qr"}')
		expect(text).not.toContain(session.id)
		expect(text).not.toContain(alice.user.tenantId)
	})

	it('reports the streams, consumer groups, dead letters and the outbox backlog', async () => {
		const text = await scrapeText(app)
		expect(sample(text, 'switchboard_metrics_source_up{source="streams"}')).toBe(1)
		expect(sample(text, 'switchboard_metrics_source_up{source="postgres"}')).toBe(1)
		expect(sample(text, 'switchboard_stream_group_pending{stream="domain-events",group="event-consumer"}')).toBeGreaterThanOrEqual(0)
		expect(sample(text, 'switchboard_stream_group_lag_seconds{stream="domain-events",group="event-consumer"}')).toBeGreaterThanOrEqual(0)
		expect(sample(text, 'switchboard_stream_group_pending{stream="session-commands",group="session-runner"}')).toBe(0)
		expect(sample(text, 'switchboard_stream_group_pending{stream="session-queries",group="session-runner"}')).toBe(0)
		// No webhooks role here: its group does not exist, and no lag is made up for it.
		expect(text).not.toContain('group="webhooks"')
		expect(sample(text, 'switchboard_stream_dead_letters{stream="domain-events"}')).toBe(0)
		expect(sample(text, 'switchboard_outbox_pending')).toBeGreaterThanOrEqual(0)
	})

	it('shows commands waiting for a runner as lag', async () => {
		// This app runs no runner: a start command stays on its partition, undelivered.
		const api = clientFor(app, alice)
		expect((await api.post('/sessions', {})).status).toBe(201)
		// The relay appends the command to the stream before it commits the outbox row as published,
		// so a scrape can see the entry with the row still pending: wait for both.
		const lag = 'switchboard_stream_group_lag_seconds{stream="session-commands",group="session-runner"}'
		const text = await until(async () => {
			const text = await scrapeText(app)
			return (sample(text, lag) ?? -1) >= 0.001 && sample(text, 'switchboard_outbox_pending') === 0 && text
		}, 'the command lagging on its stream and out of the outbox')
		expect(sample(text, 'switchboard_stream_entries{stream="session-commands"}')).toBeGreaterThanOrEqual(1)
		expect(sample(text, 'switchboard_outbox_pending')).toBe(0)
	})

	it('reports process memory and event-loop lag', async () => {
		const text = await scrapeText(app)
		expect(sample(text, 'process_resident_memory_bytes')).toBeGreaterThan(0)
		expect(text).toContain('nodejs_eventloop_lag_seconds')
		expect(sample(text, 'switchboard_heap_used_bytes{thread="main"}')).toBeGreaterThan(0)
	})
})
