import { describe, expect, it } from 'bun:test'
import { Elysia } from 'elysia'
import pino from 'pino'
import { stopHttp } from '../../src/server'
import { rejectionOf } from '../helpers/rejection'

const silent = pino({ level: 'silent' })

function slowApp() {
	let release!: () => void
	const released = new Promise<void>((r) => (release = r))
	let started!: () => void
	const requestStarted = new Promise<void>((r) => (started = r))
	const app = new Elysia()
		.get('/slow', async () => {
			started()
			await released
			return 'done'
		})
		.listen({ port: 0, hostname: '127.0.0.1' })
	return { app, url: `http://127.0.0.1:${app.server!.port}`, release, requestStarted }
}

describe('graceful shutdown', () => {
	it('lets an in-flight request finish and refuses new connections', async () => {
		const { app, url, release, requestStarted } = slowApp()
		const inFlight = fetch(`${url}/slow`)
		await requestStarted
		const stopped = stopHttp(app, 5_000, silent)
		expect(await rejectionOf(fetch(`${url}/slow`))).toBeInstanceOf(Error)
		release()
		const res = await inFlight
		expect(res.status).toBe(200)
		expect(await res.text()).toBe('done')
		await stopped
	})

	it('cuts requests that outlive the shutdown timeout', async () => {
		const { app, url, requestStarted } = slowApp()
		const inFlight = fetch(`${url}/slow`).then(
			() => 'answered',
			() => 'cut',
		)
		await requestStarted
		await stopHttp(app, 50, silent)
		expect(await inFlight).toBe('cut')
	})
})
