import { Elysia } from 'elysia'
import type { Logger } from '../logger'

const REQUEST_ID = /^[A-Za-z0-9._:-]{1,128}$/

/**
 * The client address: the socket peer, or with `TRUST_PROXY_HOPS=n` the n-th address from the
 * right of X-Forwarded-For (each trusted proxy appends the peer it saw). Entries further left are
 * written by the client and never trusted.
 */
export function clientIp(request: Request, server: { requestIP(r: Request): { address: string } | null } | null, hops: number): string {
	if (hops > 0) {
		const forwarded = request.headers.get('x-forwarded-for')
		if (forwarded) {
			const chain = forwarded
				.split(',')
				.map((s) => s.trim())
				.filter(Boolean)
			const ip = chain[Math.max(0, chain.length - hops)]
			if (ip) return ip
		}
	}
	return server?.requestIP(request)?.address ?? 'unknown'
}

/**
 * Gives every request an id (the caller's `X-Request-Id` when it is sane, else a uuid v7) and
 * echoes it in the response; the errors plugin logs failures with it.
 *
 * The per-request access line is a debug log, and Elysia's after-response hook alone costs about
 * 10 µs a request (bench/lists), so the hook is only installed when debug logging is on.
 */
export const requestContextPlugin = (logger: Logger) => {
	const startedAt = new WeakMap<Request, number>()
	const plugin = new Elysia({ name: 'request-context' }).onRequest(({ request, set }) => {
		const given = request.headers.get('x-request-id')
		set.headers['x-request-id'] = given && REQUEST_ID.test(given) ? given : Bun.randomUUIDv7()
		if (logger.isLevelEnabled('debug')) startedAt.set(request, performance.now())
	})
	if (!logger.isLevelEnabled('debug')) return plugin
	return plugin.onAfterResponse({ as: 'global' }, ({ request, set, path }) => {
		const started = startedAt.get(request)
		if (started === undefined) return
		const status = typeof set.status === 'number' ? set.status : 200
		const ms = Math.round((performance.now() - started) * 10) / 10
		logger.debug({ reqId: set.headers['x-request-id'], method: request.method, path, status, ms }, 'request')
	})
}
