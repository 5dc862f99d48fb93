import type { TestApp } from '../helpers/app'
import { until } from '../helpers/until'

export const METRICS_TOKEN = 'metrics-token-for-tests-0123456789'

/** GET /metrics with the test token. */
export async function scrape(app: TestApp, token: string | null = METRICS_TOKEN): Promise<Response> {
	return fetch(`${app.url}/metrics`, { headers: token ? { authorization: `Bearer ${token}` } : {} })
}

export async function scrapeText(app: TestApp): Promise<string> {
	const res = await scrape(app)
	if (res.status !== 200) throw new Error(`GET /metrics: ${res.status} ${await res.text()}`)
	return res.text()
}

/** The value of one series (`name{labels}` exactly as exposed, labels in registration order), or undefined. */
export function sample(text: string, series: string): number | undefined {
	for (const line of text.split('\n')) {
		if (line.startsWith('#')) continue
		const at = line.lastIndexOf(' ')
		if (line.slice(0, at) === series) return Number(line.slice(at + 1))
	}
	return undefined
}

/** Scrapes until `series` reaches at least `min`: for figures a Worker or the consumer updates later. */
export function untilSample(app: TestApp, series: string, min = 1): Promise<string> {
	return until(async () => {
		const text = await scrapeText(app)
		return (sample(text, series) ?? -1) >= min && text
	}, `${series} >= ${min}`)
}
