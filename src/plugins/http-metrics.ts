import { Elysia, StatusMap } from 'elysia'
import { Counter, Histogram, type Registry } from 'prom-client'
import { PREFIX } from '../observability/registry'

const METHODS = new Set(['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS'])
/** The label of every request no route matched: one series, whatever paths scanners try. */
const UNMATCHED_ROUTE = 'unmatched'

function statusOf(response: unknown, status: unknown): number {
	if (response instanceof Response) return response.status
	if (typeof status === 'number') return status
	if (typeof status === 'string' && status in StatusMap) return StatusMap[status as keyof typeof StatusMap]
	return 200
}

/**
 * Counts and times every HTTP request by method, route template (`/sessions/:id`, never the path
 * that was asked for) and status. Global hooks: registered before the modules, they see every route.
 */
export function httpMetrics(registry: Registry) {
	const labelNames = ['method', 'route', 'status'] as const
	const requests = new Counter({
		name: `${PREFIX}http_requests_total`,
		help: 'HTTP requests answered, by method, route template and status',
		labelNames,
		registers: [registry],
	})
	const duration = new Histogram({
		name: `${PREFIX}http_request_duration_seconds`,
		help: 'Time from receiving an HTTP request to having sent its response, by method, route template and status',
		labelNames,
		buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
		registers: [registry],
	})
	const started = new WeakMap<Request, number>()
	return new Elysia({ name: 'metrics-http' })
		.onRequest(({ request }) => {
			started.set(request, performance.now())
		})
		.onAfterResponse({ as: 'global' }, ({ request, route, set, responseValue }) => {
			const at = started.get(request)
			if (at === undefined) return
			const labels = {
				method: METHODS.has(request.method) ? request.method : 'OTHER',
				route: route || UNMATCHED_ROUTE,
				status: String(statusOf(responseValue, set.status)),
			}
			requests.inc(labels)
			duration.observe(labels, (performance.now() - at) / 1000)
		})
}
