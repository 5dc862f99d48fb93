import { afterAll, beforeAll, describe, expect, it } from 'bun:test'
import { sql } from 'drizzle-orm'
import { PRIVATE_TARGETS_HINT } from '../../src/core/webhooks'
import { refusedAddress } from '../../src/lib/addresses'
import { sendSigned } from '../../src/roles/webhooks/sender'
import { createVerifiedUser } from '../helpers/accounts'
import { startTestApp, type TestApp } from '../helpers/app'
import { clientFor, type Client } from '../helpers/sessions'
import { until } from '../helpers/until'
import { createWebhook, startReceiver, type Receiver, verify } from './helpers'

let app: TestApp
let api: Client
let rx: Receiver

beforeAll(async () => {
	// Private targets are not allowed (the default).
	app = await startTestApp({ ROLES: 'api,webhooks', WEBHOOK_RETRY_SCHEDULE: '10ms,10ms', WEBHOOK_POLL_MS: '50' })
	await app.server.roles.ready
	api = clientFor(app, await createVerifiedUser(app))
	rx = await startReceiver()
})
afterAll(async () => {
	await rx.stop()
	await app.close()
})

/** Sends the endpoint a test event and waits until its delivery has failed for good. */
async function failedTestEvent(hookId: string) {
	await api.post(`/webhooks/${hookId}/test`)
	return until(async () => {
		const res = await api.get(`/webhooks/${hookId}/deliveries`)
		return res.body.items[0]?.state === 'failed' && res.body.items[0]
	}, 'the delivery to fail for good')
}

describe('the SSRF guard', () => {
	it('refuses a name that resolves only to loopback (localhost) when the webhook is made or changed, saying how to allow it', async () => {
		const made = await api.post('/webhooks', { url: `http://localhost:${rx.port}/hook` })
		expect(made.status).toBe(422)
		expect(made.body.error).toEqual({
			code: 'WEBHOOK_TARGET_REFUSED',
			message: `\`url\` names localhost, which resolves to a loopback address that webhooks may not reach${PRIVATE_TARGETS_HINT}`,
			details: { field: 'url', host: 'localhost', reason: 'loopback' },
		})
		const hook = await createWebhook(api, { url: 'https://hooks.invalid/wa' })
		expect((await api.patch(`/webhooks/${hook.id}`, { url: 'http://LOCALHOST/x' })).body.error.code).toBe('WEBHOOK_TARGET_REFUSED')
		// A name that does not resolve is left to delivery, which resolves it again.
		expect((await api.patch(`/webhooks/${hook.id}`, { url: 'https://other.invalid/wa' })).status).toBe(200)
	})

	it('refuses at delivery time a name that resolves to loopback (localhost), and the receiver gets nothing', async () => {
		// A name that resolved elsewhere when the webhook was made (its DNS changed since, or rebinds).
		const hook = await createWebhook(api, { url: 'https://hooks.invalid/wa' })
		await app.server.database.db.execute(sql`update webhook_endpoints set url = ${`http://localhost:${rx.port}/hook`} where id = ${hook.id}`)
		const delivery = await failedTestEvent(hook.id)
		expect(delivery).toMatchObject({ attempts: 3, lastStatusCode: null })
		expect(delivery.lastError).toBe(`refused localhost: it resolves to a loopback address${PRIVATE_TARGETS_HINT}`)
		// Who reads it learns how a self-hosted receiver on the same network is let through.
		expect(delivery.lastError).toContain('WEBHOOK_ALLOW_PRIVATE_TARGETS=true')
		expect(rx.requests).toEqual([])
	})

	it('names the host it could not resolve in the delivery log (.invalid never resolves)', async () => {
		const hook = await createWebhook(api, { url: 'https://hooks.invalid/wa' })
		const delivery = await failedTestEvent(hook.id)
		expect(delivery).toMatchObject({ attempts: 3, lastStatusCode: null })
		expect(delivery.lastError).toMatch(/^could not resolve hooks\.invalid \(\w+\)$/)
	})

	it.each([
		['127.0.0.1', 'loopback'],
		['127.255.0.9', 'loopback'],
		['10.0.0.1', 'private'],
		['172.16.5.4', 'private'],
		['192.168.1.1', 'private'],
		['169.254.169.254', 'link-local'],
		['100.64.0.1', 'shared address space (CGNAT)'],
		['0.0.0.0', 'unspecified'],
		['224.0.0.1', 'multicast'],
		['240.0.0.1', 'reserved'],
		['255.255.255.255', 'reserved'],
		['192.0.2.10', 'reserved'],
		['::1', 'loopback'],
		['::', 'unspecified'],
		['fd12:3456::1', 'private'],
		['fe80::1', 'link-local'],
		['ff02::1', 'multicast'],
		['::ffff:127.0.0.1', 'loopback'],
		['::ffff:10.0.0.1', 'private'],
		['::ffff:a9fe:a9fe', 'link-local'],
		['::ffff:0:7f00:1', 'reserved'],
		['64:ff9b::a00:1', 'reserved'],
		['2002:a00:1::1', 'reserved'],
		['2001:db8::1', 'reserved'],
	])('refuses %s (%s)', (address, reason) => {
		expect(refusedAddress(address)).toBe(reason)
	})

	it.each([['8.8.8.8'], ['1.1.1.1'], ['2606:4700:4700::1111'], ['::ffff:8.8.8.8'], ['172.32.0.1'], ['100.128.0.1']])(
		'allows the public address %s',
		(address) => {
			expect(refusedAddress(address)).toBeNull()
		},
	)

	it('connects to the address it checked, keeping the URL host in Host, and picks an allowed address among several', async () => {
		const resolved: string[] = []
		const outcome = await sendSigned(
			{
				url: `http://hooks.example:${rx.port}/hook`,
				eventId: Bun.randomUUIDv7(),
				body: '{"a":1}',
				secrets: [`whsec_${Buffer.alloc(32, 3).toString('base64')}`],
			},
			{
				timeoutMs: 2_000,
				allowPrivateTargets: true,
				resolve: async (name) => {
					resolved.push(name)
					return [{ address: '127.0.0.1', family: 4 }]
				},
			},
		)
		expect(outcome).toMatchObject({ status: 204, kind: '2xx' })
		expect(resolved).toEqual(['hooks.example'])
		expect(rx.requests.at(-1)!.host).toBe(`hooks.example:${rx.port}`)
		verify(`whsec_${Buffer.alloc(32, 3).toString('base64')}`, rx.requests.at(-1)!)

		const refused = await sendSigned(
			{
				url: `http://rebind.example:${rx.port}/hook`,
				eventId: Bun.randomUUIDv7(),
				body: '{}',
				secrets: [`whsec_${Buffer.alloc(32, 3).toString('base64')}`],
			},
			{
				timeoutMs: 2_000,
				allowPrivateTargets: false,
				resolve: async () => [
					{ address: '10.0.0.7', family: 4 },
					{ address: '169.254.169.254', family: 4 },
				],
			},
		)
		expect(refused).toMatchObject({
			status: null,
			kind: 'refused',
			error: `refused rebind.example: it resolves to a private address${PRIVATE_TARGETS_HINT}`,
		})
	})
})

describe('an attempt', () => {
	const secret = `whsec_${Buffer.alloc(32, 4).toString('base64')}`
	const options = { timeoutMs: 300, allowPrivateTargets: true }

	it('gives up on a receiver that does not answer within the timeout', async () => {
		const silent = await startReceiver(() => new Promise<Response>(() => {}))
		try {
			const outcome = await sendSigned({ url: silent.url, eventId: Bun.randomUUIDv7(), body: '{}', secrets: [secret] }, options)
			expect(outcome).toMatchObject({ status: null, kind: 'timeout', error: 'no answer within 300 ms' })
		} finally {
			await silent.stop()
		}
	})

	it('gives up on a name that does not resolve within the timeout', async () => {
		const outcome = await sendSigned(
			{ url: 'http://slow-dns.example/hook', eventId: Bun.randomUUIDv7(), body: '{}', secrets: [secret] },
			{ ...options, resolve: () => new Promise(() => {}) },
		)
		expect(outcome).toMatchObject({ status: null, kind: 'timeout' })
	})
})
