import { afterAll, beforeAll, expect, it } from 'bun:test'
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { createVerifiedUser } from '../helpers/accounts'
import { startTestApp, type TestApp } from '../helpers/app'
import { freePort } from '../helpers/private-redis'
import { clientFor, type Client } from '../helpers/sessions'
import { until } from '../helpers/until'
import { createWebhook } from './helpers'

/** The receiver the README shows, run as its reader would run it, against real deliveries. */

const ROOT = join(import.meta.dir, '../..')
/** Inside the repository, so that the snippet's `standardwebhooks` import resolves as in a reader's project. */
const SCRATCH = join(ROOT, 'test-results')

/** The code block after the README's **Webhooks** paragraph. */
function readmeReceiver(): string {
	const readme = readFileSync(join(ROOT, 'README.md'), 'utf8')
	const code = readme.split('**Webhooks**')[1]?.match(/```ts\n([\s\S]*?)```/)?.[1]
	if (!code) throw new Error('the README shows no receiver after **Webhooks**')
	return code
}

let app: TestApp
let api: Client

beforeAll(async () => {
	// The receiver listens on this machine: the README says such a URL needs private targets allowed.
	app = await startTestApp({ ROLES: 'api,webhooks', WEBHOOK_ALLOW_PRIVATE_TARGETS: 'true', WEBHOOK_POLL_MS: '50' })
	await app.server.roles.ready
	api = clientFor(app, await createVerifiedUser(app))
})
afterAll(() => app?.close())

it('verifies a real delivery, and refuses a forged one', async () => {
	const code = readmeReceiver()
	const port = await freePort()
	// Its port is the one thing changed: tests run in parallel.
	const ours = code.replace('port: 4000', `port: ${port}`)
	expect(ours).not.toBe(code)
	mkdirSync(SCRATCH, { recursive: true })
	const file = join(SCRATCH, `readme-receiver-${Bun.randomUUIDv7()}.ts`)
	writeFileSync(file, ours)
	const hook = await createWebhook(api, { url: `http://localhost:${port}/` })
	const receiver = Bun.spawn(['bun', file], { cwd: ROOT, env: { ...process.env, WEBHOOK_SECRET: hook.secret }, stdout: 'pipe', stderr: 'pipe' })
	let printed = ''
	const reading = (async () => {
		for await (const chunk of receiver.stdout) printed += new TextDecoder().decode(chunk)
	})()
	try {
		// Unsigned, then signed with another secret: neither is taken (the verifier throws, the answer is not a 2xx).
		const forged = {
			'content-type': 'application/json',
			'webhook-id': 'msg_forged',
			'webhook-timestamp': String(Math.floor(Date.now() / 1000)),
			'webhook-signature': `v1,${Buffer.alloc(32).toString('base64')}`,
		}
		const unsigned = await until(
			() => fetch(`http://localhost:${port}/`, { method: 'POST', body: '{}' }).catch(() => null),
			'the README receiver to listen',
		)
		expect(unsigned.status).toBeGreaterThanOrEqual(400)
		expect((await fetch(`http://localhost:${port}/`, { method: 'POST', body: '{}', headers: forged })).status).toBeGreaterThanOrEqual(400)

		const sent = await api.post<{ deliveryId: string; eventId: string }>(`/webhooks/${hook.id}/test`)
		expect(sent.status).toBe(202)
		const delivery = await until(async () => {
			const res = await api.get<{ items: { id: string; state: string; lastStatusCode: number | null }[] }>(`/webhooks/${hook.id}/deliveries`)
			return res.body.items.find((d) => d.id === sent.body.deliveryId && d.state !== 'pending')
		}, 'the test event to be delivered')
		expect(delivery).toMatchObject({ state: 'delivered', lastStatusCode: 204 })
		// What the verifier gave back and the receiver printed: the event, parsed.
		await until(() => printed.includes(sent.body.eventId), 'the receiver to print the event')
		expect(printed).toContain('webhook.test')
	} finally {
		receiver.kill()
		await receiver.exited
		await reading
		rmSync(file, { force: true })
	}
})
