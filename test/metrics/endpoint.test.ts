import { afterAll, beforeAll, describe, expect, it } from 'bun:test'
import { createLogger } from '../../src/logger'
import { startServer } from '../../src/server'
import { startTestApp, type TestApp } from '../helpers/app'
import { until } from '../helpers/until'
import { METRICS_TOKEN, sample, scrape, scrapeText } from './helpers'

describe('/metrics when METRICS_ENABLED is off', () => {
	let app: TestApp
	beforeAll(async () => {
		app = await startTestApp({ ROLES: 'api' })
	})
	afterAll(() => app.close())

	it('answers 404 like any unknown route', async () => {
		const res = await scrape(app)
		expect(res.status).toBe(404)
		expect(((await res.json()) as { error: { code: string } }).error.code).toBe('ROUTE_NOT_FOUND')
	})
})

describe('/metrics behind METRICS_TOKEN', () => {
	let app: TestApp
	beforeAll(async () => {
		app = await startTestApp({ ROLES: 'api', METRICS_ENABLED: 'true', METRICS_TOKEN })
	})
	afterAll(() => app.close())

	it('answers 401 with a JSON error without a token', async () => {
		const res = await scrape(app, null)
		expect(res.status).toBe(401)
		expect(res.headers.get('www-authenticate')).toBe('Bearer')
		expect(((await res.json()) as { error: { code: string } }).error.code).toBe('UNAUTHORIZED')
	})

	it('answers 401 to a wrong token', async () => {
		const res = await scrape(app, `${METRICS_TOKEN}x`)
		expect(res.status).toBe(401)
	})

	it('answers the Prometheus text format with the token', async () => {
		const res = await scrape(app)
		expect(res.status).toBe(200)
		expect(res.headers.get('content-type')).toBe('text/plain; version=0.0.4; charset=utf-8')
		const text = await res.text()
		expect(text).toContain('# TYPE switchboard_http_requests_total counter')
		expect(text).toContain('# TYPE process_resident_memory_bytes gauge')
	})
})

describe('/metrics without METRICS_TOKEN', () => {
	let app: TestApp
	beforeAll(async () => {
		app = await startTestApp({ ROLES: 'api', METRICS_ENABLED: 'true' })
	})
	afterAll(() => app.close())

	it('is open to anyone who reaches it', async () => {
		expect((await scrape(app, null)).status).toBe(200)
	})
})

describe('/metrics of a process without the api role', () => {
	let app: TestApp
	beforeAll(async () => {
		app = await startTestApp({ ROLES: 'runner', METRICS_ENABLED: 'true', METRICS_TOKEN })
		await app.server.roles.ready
	})
	afterAll(() => app.close())

	it("serves the runner Worker's metrics beside the process's, and no API route", async () => {
		const res = await scrape(app)
		expect(res.status).toBe(200)
		const text = await res.text()
		expect(text).toContain('switchboard_metrics_source_up{source="runner"} 1')
		expect(text).toContain('# TYPE switchboard_whatsapp_disconnects_total counter')
		expect(text).toContain('# TYPE process_resident_memory_bytes gauge')
		expect((await fetch(`${app.url}/sessions`)).status).toBe(404)
	})
})

describe('/metrics of the fleet', () => {
	let app: TestApp
	beforeAll(async () => {
		app = await startTestApp({ ROLES: 'api', METRICS_ENABLED: 'true', METRICS_TOKEN })
	})
	afterAll(() => app.close())

	/** Scrapes until the runners and the partitions no runner holds read `runners` and `unowned`. */
	const fleetReads = (runners: number, unowned: number) =>
		until(async () => {
			const text = await scrapeText(app)
			return sample(text, 'switchboard_fleet_runners_live') === runners && sample(text, 'switchboard_fleet_partitions_unowned') === unowned && text
		}, `${runners} runners, ${unowned} partitions unowned`)

	it('counts the live runners and the partitions none holds, and tells when the last runner is gone', async () => {
		const partitions = app.config.events.commandPartitions
		// No runner yet: every partition's sessions are offline, though they may still read `connected`.
		const before = await fleetReads(0, partitions)
		expect(before).toContain('switchboard_metrics_source_up{source="runners"} 1')
		const runner = await startServer({ ...app.config, roles: new Set(['runner']) }, createLogger(app.config))
		try {
			await runner.roles.ready
			await fleetReads(1, 0)
		} finally {
			await runner.stop()
		}
		await fleetReads(0, partitions)
	})
})
