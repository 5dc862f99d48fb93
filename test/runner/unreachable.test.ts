import { afterAll, describe, expect, it } from 'bun:test'
import { createVerifiedUser } from '../helpers/accounts'
import { startTestApp, type TestApp } from '../helpers/app'
import { clientFor } from '../helpers/sessions'
import { until } from '../helpers/until'

/**
 * A server that cannot reach WhatsApp (no internet, no DNS, a firewall): the session says so in
 * words a person acts on, where the socket library's error would name only a system call.
 */
const apps: TestApp[] = []
afterAll(async () => {
	for (const app of apps) await app.close()
})

async function reasonWith(waWebSocketUrl: string): Promise<string> {
	const app = await startTestApp({ ROLES: 'api,runner,consumer', WA_WEBSOCKET_URL: waWebSocketUrl, WA_RECONNECT_BASE_MS: '60000' })
	apps.push(app)
	const api = clientFor(app, await createVerifiedUser(app))
	const created = await api.post('/sessions', { name: 'offline' })
	const session = await until(async () => {
		const { body } = await api.get(`/sessions/${created.body.id}`)
		return body.status === 'reconnecting' && body
	}, 'the first failed attempt')
	return session.lastError
}

describe('a session whose server cannot reach WhatsApp', () => {
	it('says the address does not resolve', async () => {
		const reason = await reasonWith('ws://whatsapp.switchboard-test.invalid/ws/chat')
		expect(reason).toMatch(
			/^cannot reach WhatsApp: whatsapp\.switchboard-test\.invalid does not resolve \(is this server online, with working DNS\?\); attempt 1 of 10, the next at \d\d:\d\d:\d\d UTC$/,
		)
	}, 30_000)

	it('says the address refused the connection', async () => {
		const reason = await reasonWith('ws://127.0.0.1:1/ws/chat')
		expect(reason).toMatch(/^cannot reach WhatsApp: 127\.0\.0\.1:1 refused the connection \(is a firewall or proxy in the way\?\); attempt 1 of 10/)
	}, 30_000)
})
