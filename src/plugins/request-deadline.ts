import type { AnyElysia } from 'elysia'
import type { Logger } from '../logger'
import { errorBody, json } from './errors'
import { SECURITY_HEADERS } from './security-headers'

/** Seconds Bun keeps a connection open past the deadline, so the deadline's answer always goes out first. */
const IDLE_MARGIN_SECONDS = 10

/** Bun's largest idle timeout. */
const MAX_IDLE_SECONDS = 255

/**
 * The idle timeout to serve with: Bun closes a connection that sent nothing for this long, even
 * while its request waits for an answer, and the client then gets no answer at all.
 */
export const idleTimeoutSeconds = (timeoutMs: number) => Math.min(MAX_IDLE_SECONDS, Math.ceil(timeoutMs / 1000) + IDLE_MARGIN_SECONDS)

/**
 * Answers every request within `timeoutMs`. A PostgreSQL or Redis that stops answering (a paused
 * host, a network that drops packets) leaves its connections open with nothing coming back, so no
 * query fails and a request would wait until Bun closes the connection, unanswered. Past the
 * deadline the client gets 503 `REQUEST_TIMEOUT` with Retry-After instead; the request itself may
 * still finish later, which is why the message points at idempotency keys.
 *
 * It wraps the handler Elysia compiles for every request (`wrap`, the one hook that sees the whole
 * answer, marked internal by Elysia: its version is pinned, and test/platform/database-outage.test.ts
 * fails if the deadline stops applying). Call it before `listen`. WebSocket upgrades and answers
 * given synchronously pass through untouched, and so do file uploads (see `streamsAFile`).
 */
export function answerWithin(app: AnyElysia, { timeoutMs, bodyLimitBytes }: { timeoutMs: number; bodyLimitBytes: number }, logger: Logger): void {
	type Handle = (request: Request, ...rest: unknown[]) => Response | Promise<Response>
	app.wrap(((handle: Handle) =>
		(request: Request, ...rest: unknown[]) => {
			const answer = handle(request, ...rest)
			if (!(answer instanceof Promise) || request.headers.has('upgrade') || streamsAFile(request, bodyLimitBytes)) return answer
			let timer: Timer | undefined
			const late = new Promise<Response>((resolve) => {
				timer = setTimeout(() => resolve(timedOut(request, timeoutMs, logger)), timeoutMs)
			})
			return Promise.race([answer, late]).finally(() => clearTimeout(timer))
		}) as never)
}

/**
 * A body too large for a JSON request (or of a length not given) is a file on its way in: it may
 * take minutes on a slow link, all within the handler, and Bun's idle timeout only starts once it
 * stops arriving.
 */
function streamsAFile(request: Request, bodyLimitBytes: number): boolean {
	if (!request.body) return false
	const length = request.headers.get('content-length')
	return length === null || Number(length) > bodyLimitBytes
}

function timedOut(request: Request, timeoutMs: number, logger: Logger): Response {
	const path = new URL(request.url).pathname
	logger.warn({ method: request.method, path, timeoutMs }, 'request not answered in time (REQUEST_TIMEOUT_MS): is PostgreSQL or Redis answering?')
	const body = errorBody(
		'REQUEST_TIMEOUT',
		`The server could not answer within ${timeoutMs / 1000} s: a service it depends on (its database or Redis) is not answering. Try again shortly; a send may still go through meanwhile, so repeat it with the same Idempotency-Key`,
	)
	return json(503, body, { ...SECURITY_HEADERS, 'retry-after': '5' })
}
