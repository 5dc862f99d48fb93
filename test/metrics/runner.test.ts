import { afterAll, beforeAll, describe, expect, it } from 'bun:test'
import { pairedSession, startSessionsWorld, type ApiSession, type Client, type SessionsWorld } from '../helpers/sessions'
import { METRICS_TOKEN, sample, scrapeText, untilSample } from './helpers'

// The whole server with the runner in its Worker, against the WhatsApp stand-in: what the runner
// records reaches the main thread's /metrics through the Worker's registry.
const PHONE = '15550400001'
let world: SessionsWorld
let api: Client
let session: ApiSession

beforeAll(async () => {
	world = await startSessionsWorld({ METRICS_ENABLED: 'true', METRICS_TOKEN })
	api = await world.tenant()
	session = await pairedSession(world, api, PHONE)
}, 60_000)
afterAll(() => world.close())

describe('/metrics of the runner Worker', () => {
	it('counts the disconnect pairing asks for, by code, and the reconnect after it', async () => {
		// Linking ends with stream:error 515: Baileys opens a new socket with the new creds.
		const text = await untilSample(world.app, 'switchboard_whatsapp_reconnects_total{reason="restart_required"}')
		expect(sample(text, 'switchboard_whatsapp_disconnects_total{status="reconnecting",reason="restart_required",code="515"}')).toBeGreaterThanOrEqual(
			1,
		)
		expect(sample(text, 'switchboard_runner_events_total{type="session.status.connected"}')).toBeGreaterThanOrEqual(1)
		expect(sample(text, 'switchboard_metrics_source_up{source="runner"}')).toBe(1)
		expect(sample(text, 'switchboard_sessions{status="connected"}')).toBe(1)
	})

	it('counts the messages of a history sync and its progress', async () => {
		await world.standIn.pushHistory({ to: PHONE, chats: 2, messagesPerChat: 30, chunkSize: 20 })
		const text = await untilSample(world.app, 'switchboard_history_sync_messages_total', 60)
		expect(sample(text, 'switchboard_history_sync_progress_percent')).toBe(100)
		await untilSample(world.app, 'switchboard_consumer_rows_total{table="session_messages"}', 60)
	})

	it('labels nothing with a session, tenant or phone number', async () => {
		const text = await scrapeText(world.app)
		for (const value of [session.id, api.user.user.tenantId, PHONE]) expect(text).not.toContain(value)
	})
})
