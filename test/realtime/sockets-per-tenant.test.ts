import { afterAll, beforeAll, describe, expect, it } from 'bun:test'
import { api, createVerifiedUser, login } from '../helpers/accounts'
import { createApiKey } from '../helpers/api-keys'
import type { TestApp } from '../helpers/app'
import { openSocket, type TestSocket } from '../helpers/ws'
import { startRealtimeApp } from './helpers'

const MAX = 2
let app: TestApp

beforeAll(async () => {
	app = await startRealtimeApp({ WS_MAX_SOCKETS_PER_TENANT: String(MAX), METRICS_ENABLED: 'true' })
})
afterAll(async () => {
	await app.close()
})

const live = async (socket: TestSocket) => {
	await socket.next((m) => m.type === 'session.snapshot')
	return socket
}

/** Sockets this instance closed for their tenant's limit, as /metrics counts them. */
const limitCloses = async () => {
	const text = await (await fetch(`${app.url}/metrics`)).text()
	return Number(/^switchboard_websocket_socket_limit_closes_total (\d+)/m.exec(text)?.[1])
}

/** Closes a socket from the client's side and waits until the server has answered the close. */
const closeAndWait = async (socket: TestSocket) => {
	socket.close()
	await socket.closed
}

describe('open WebSockets per tenant', () => {
	it('closes one socket more than the tenant may hold with 4429, whoever opens it, and admits one again once one closes', async () => {
		const closesBefore = await limitCloses()
		const alice = await createVerifiedUser(app)
		const key = await createApiKey(app, alice, ['sessions:read', 'messages:read'])
		const otherDevice = await login(app, alice.email, alice.password)
		const first = await live(openSocket(app.url, {}, alice.headers))
		const second = await live(openSocket(app.url, {}, key.headers))
		const refused = await openSocket(app.url, {}, { authorization: `Bearer ${otherDevice.body.accessToken}` }).closed
		expect(refused).toEqual({
			code: 4429,
			reason: `this account has ${MAX} WebSockets open on this server, the most it may; close one, then reconnect`,
		})
		// A WebSocket's close reason is at most 123 bytes.
		expect(Buffer.byteLength(refused.reason)).toBeLessThanOrEqual(123)
		// The refused socket took no place: closing one of the two makes room for exactly one.
		await closeAndWait(first)
		const third = await live(openSocket(app.url, {}, key.headers))
		expect((await openSocket(app.url, {}, alice.headers).closed).code).toBe(4429)
		expect(await limitCloses()).toBe(closesBefore + 2)
		await closeAndWait(second)
		await closeAndWait(third)
		await live(openSocket(app.url, {}, alice.headers)).then(closeAndWait)
	})

	it('counts each tenant apart', async () => {
		const alice = await createVerifiedUser(app)
		const bob = await createVerifiedUser(app)
		const alices = await Promise.all(Array.from({ length: MAX }, () => live(openSocket(app.url, {}, alice.headers))))
		const bobs = await Promise.all(Array.from({ length: MAX }, () => live(openSocket(app.url, {}, bob.headers))))
		expect((await openSocket(app.url, {}, bob.headers).closed).code).toBe(4429)
		for (const socket of [...alices, ...bobs]) await closeAndWait(socket)
	})

	it('frees the places of sockets the server closes', async () => {
		const alice = await createVerifiedUser(app)
		const sockets = await Promise.all(Array.from({ length: MAX }, () => live(openSocket(app.url, {}, alice.headers))))
		expect((await api(app).post('/auth/logout-all', undefined, alice.headers)).status).toBe(204)
		for (const socket of sockets) expect((await socket.closed).code).toBe(4401)
		const again = await login(app, alice.email, alice.password)
		const headers = { authorization: `Bearer ${again.body.accessToken}` }
		const reopened = await Promise.all(Array.from({ length: MAX }, () => live(openSocket(app.url, {}, headers))))
		for (const socket of reopened) await closeAndWait(socket)
	})
})
