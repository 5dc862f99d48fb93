import { afterAll, beforeAll, describe, expect, it } from 'bun:test'
import { type AnyElysia, Elysia } from 'elysia'
import pino from 'pino'
import { answerWithin, idleTimeoutSeconds } from '../../src/plugins/request-deadline'
import { SECURITY_HEADERS } from '../../src/plugins/security-headers'

/**
 * The request deadline on a real server: a handler that never answers gets 503 at the deadline;
 * a file still arriving (larger than a JSON body may be) is not cut off however long it takes.
 * The deadline against a frozen database, through the whole API: database-outage.test.ts.
 */

const TIMEOUT_MS = 500
let url: string
let app: AnyElysia

beforeAll(() => {
	app = new Elysia()
		.get('/never', () => new Promise<string>(() => {}))
		.get('/quick', async () => 'quick')
		.post(
			'/upload',
			async ({ request }) => {
				let bytes = 0
				for await (const chunk of request.body as unknown as AsyncIterable<Uint8Array>) bytes += chunk.byteLength
				return { bytes }
			},
			{ parse: 'none' },
		)
	answerWithin(app, { timeoutMs: TIMEOUT_MS, bodyLimitBytes: 1024 }, pino({ level: 'silent' }))
	app.listen({ port: 0, hostname: '127.0.0.1', idleTimeout: idleTimeoutSeconds(TIMEOUT_MS) })
	url = `http://127.0.0.1:${app.server!.port}`
})
afterAll(() => app.stop(true))

/** A body sent in `chunks` pieces of 1 KB, one every `everyMs`. */
function slowBody(chunks: number, everyMs: number): ReadableStream<Uint8Array> {
	let sent = 0
	return new ReadableStream({
		async pull(controller) {
			if (sent++ === chunks) return controller.close()
			await Bun.sleep(everyMs)
			controller.enqueue(new Uint8Array(1024))
		},
	})
}

describe('the request deadline', () => {
	it('answers 503 REQUEST_TIMEOUT with Retry-After when the handler has not answered by then', async () => {
		const res = await fetch(`${url}/never`, { signal: AbortSignal.timeout(5_000) })
		expect(res.status).toBe(503)
		expect(res.headers.get('retry-after')).toBe('5')
		// Made outside Elysia's hooks, it carries the headers every answer does.
		for (const [name, value] of Object.entries(SECURITY_HEADERS)) expect(res.headers.get(name), name).toBe(value)
		const body = (await res.json()) as { error: { code: string; message: string } }
		expect(body.error.code).toBe('REQUEST_TIMEOUT')
		expect(body.error.message).toContain('Idempotency-Key')
	})

	it('leaves answers given in time alone', async () => {
		const res = await fetch(`${url}/quick`)
		expect(res.status).toBe(200)
		expect(await res.text()).toBe('quick')
	})

	it('lets a file upload take longer than the deadline while it arrives', async () => {
		// 8 KB over about 1.6 s: three deadlines.
		const res = await fetch(`${url}/upload`, { method: 'POST', body: slowBody(8, 200), signal: AbortSignal.timeout(10_000) })
		expect(res.status).toBe(200)
		expect(await res.json()).toEqual({ bytes: 8 * 1024 })
	})

	it('keeps connections open past the deadline, so its answer always goes out first', () => {
		expect(idleTimeoutSeconds(20_000)).toBe(30)
		expect(idleTimeoutSeconds(240_000)).toBe(250)
	})
})
