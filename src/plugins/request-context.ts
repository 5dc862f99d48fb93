import { Elysia } from 'elysia'
import type { Logger } from '../logger'

interface RequestMeta {
	id: string
	startedAt: number
}

const REQUEST_ID = /^[A-Za-z0-9._:-]{1,128}$/

/**
 * Gives every request an id (the caller's `X-Request-Id` when it is sane, else a uuid v7), echoes
 * it in the response and logs one line per request when the response is sent.
 */
export const requestContextPlugin = (logger: Logger) => {
	const meta = new WeakMap<Request, RequestMeta>()
	return new Elysia({ name: 'request-context' })
		.onRequest(({ request, set }) => {
			const given = request.headers.get('x-request-id')
			const id = given && REQUEST_ID.test(given) ? given : Bun.randomUUIDv7()
			meta.set(request, { id, startedAt: performance.now() })
			set.headers['x-request-id'] = id
		})
		.derive({ as: 'global' }, ({ request }) => ({ requestId: meta.get(request)?.id ?? '' }))
		.onAfterResponse({ as: 'global' }, ({ request, set, path }) => {
			const m = meta.get(request)
			if (!m) return
			const status = typeof set.status === 'number' ? set.status : 200
			const line = { reqId: m.id, method: request.method, path, status, ms: Math.round((performance.now() - m.startedAt) * 10) / 10 }
			if (status >= 500) logger.error(line, 'request failed')
			else logger.debug(line, 'request')
		})
}
