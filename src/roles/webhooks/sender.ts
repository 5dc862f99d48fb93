import { LRUCache } from 'lru-cache'
import { Webhook } from 'standardwebhooks'
import { literalHost, RefusedTargetError, resolveTarget, type Resolver } from '../../lib/addresses'
import { storableExcerpt } from '../../lib/text'
import { withTimeout } from '../../lib/timeout'
import { PRIVATE_TARGETS_HINT } from '../../core/webhooks'

/** One signed POST of a delivery, as Standard Webhooks describes it. */
export interface SignedRequest {
	url: string
	/** The event's uuid: the same on every attempt, so receivers de-duplicate on it. */
	eventId: string
	body: string
	/** `whsec_…` secrets, each of which signs: the current one, and those rotations took out of use in the last 24 h. */
	secrets: readonly string[]
}

export interface SendOptions {
	timeoutMs: number
	allowPrivateTargets: boolean
	resolve?: Resolver
}

export interface SendOutcome {
	/** The receiver's status; null when no response came (refused, timed out, unreachable). */
	status: number | null
	latencyMs: number
	/** `timeout`, `refused`, `network`, or the status class (`2xx`…`5xx`): the attempt metric's label. */
	kind: 'timeout' | 'refused' | 'network' | '2xx' | '3xx' | '4xx' | '5xx'
	error: string | null
	retryAfter: string | null
}

/** What a receiver's error answer may add to the delivery log. */
const ERROR_SNIPPET_BYTES = 512

/** Signers by secret: building one decodes its secret, which would otherwise happen on every attempt. */
const signers = new LRUCache<string, Webhook>({ max: 1_000 })

function signerOf(secret: string): Webhook {
	let signer = signers.get(secret)
	if (!signer) {
		signer = new Webhook(secret)
		signers.set(secret, signer)
	}
	return signer
}

/** The Standard Webhooks headers of one attempt; `timestamp` is this attempt's, the id is the event's. */
export function signatureHeaders(request: Pick<SignedRequest, 'eventId' | 'body' | 'secrets'>, timestamp: Date) {
	return {
		'webhook-id': request.eventId,
		'webhook-timestamp': String(Math.floor(timestamp.getTime() / 1000)),
		'webhook-signature': request.secrets.map((secret) => signerOf(secret).sign(request.eventId, timestamp, request.body)).join(' '),
	}
}

async function snippet(res: Response): Promise<string> {
	const reader = res.body?.getReader()
	if (!reader) return ''
	let text = ''
	const decoder = new TextDecoder()
	while (text.length < ERROR_SNIPPET_BYTES) {
		const { done, value } = await reader.read()
		if (done) break
		text += decoder.decode(value, { stream: true })
	}
	await reader.cancel().catch(() => {})
	// A receiver's bytes: cut between characters, without NUL, so the excerpt can be stored.
	return storableExcerpt(text, ERROR_SNIPPET_BYTES)
}

/**
 * Sends one attempt. The host is resolved here and the request goes to the very address that was
 * checked (the URL's host replaced by it, `Host` and the TLS server name kept as the URL's), so a
 * name cannot resolve to a public address for the check and a private one for the connection.
 * Redirects are not followed: a 3xx is a failed attempt like any non-2xx.
 */
export async function sendSigned(request: SignedRequest, options: SendOptions): Promise<SendOutcome> {
	const started = performance.now()
	const done = (kind: SendOutcome['kind'], status: number | null, error: string | null, retryAfter: string | null = null): SendOutcome => ({
		status,
		latencyMs: performance.now() - started,
		kind,
		error,
		retryAfter,
	})
	const url = new URL(request.url)
	// One timer for the whole attempt, cleared when it ends: a delivery rate of thousands a second
	// would otherwise keep as many 15-second timers alive.
	const abort = new AbortController()
	const deadline = abort.signal
	const timer = setTimeout(() => abort.abort(new DOMException('timed out', 'TimeoutError')), options.timeoutMs)
	try {
		const resolving = resolveTarget(url, options.allowPrivateTargets, options.resolve)
		const { address, family } = literalHost(url) ? await resolving : await withTimeout(resolving, options.timeoutMs, 'resolving the host')
		const pinned = new URL(url)
		pinned.hostname = family === 6 ? `[${address}]` : address
		const res = await fetch(pinned, {
			method: 'POST',
			body: request.body,
			redirect: 'manual',
			signal: deadline,
			headers: {
				host: url.host,
				'content-type': 'application/json',
				'user-agent': 'Switchboard-Webhooks/1',
				...signatureHeaders(request, new Date()),
			},
			...(url.protocol === 'https:' ? { tls: { serverName: url.hostname } } : {}),
		})
		const kind = `${Math.min(Math.floor(res.status / 100), 5)}xx` as SendOutcome['kind']
		if (res.ok) {
			await res.body?.cancel().catch(() => {})
			return done('2xx', res.status, null)
		}
		const text = await snippet(res).catch(() => '')
		const location = res.status >= 300 && res.status < 400 ? ` (redirect to ${res.headers.get('location') ?? '?'} not followed)` : ''
		return done(kind, res.status, `HTTP ${res.status}${location}${text ? `: ${text}` : ''}`, res.headers.get('retry-after'))
	} catch (err) {
		if (err instanceof RefusedTargetError) return done('refused', null, `${err.message}${PRIVATE_TARGETS_HINT}`)
		if (deadline.aborted || (err as Error).name === 'TimeoutError') return done('timeout', null, `no answer within ${options.timeoutMs} ms`)
		return done('network', null, (err as Error).message || String(err))
	} finally {
		clearTimeout(timer)
	}
}
