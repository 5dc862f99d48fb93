import { Elysia } from 'elysia'

/**
 * Headers every response carries. The API answers JSON that is the caller's own (tokens, messages,
 * contacts): no cache may keep it (`no-store`; a route whose answer may be cached sets its own),
 * no browser may sniff it into something else, frame it or send its URL on as a Referer. The CSP
 * forbids everything, which is right for JSON; a route that serves HTML (the API reference) sets
 * the policy its page needs. An answer made outside Elysia's hooks (the request deadline's) adds
 * them itself.
 */
export const SECURITY_HEADERS: Readonly<Record<string, string>> = {
	'x-content-type-options': 'nosniff',
	'referrer-policy': 'no-referrer',
	'x-frame-options': 'DENY',
	'content-security-policy': "default-src 'none'; frame-ancestors 'none'",
	'cache-control': 'no-store',
}

export const securityHeadersPlugin = new Elysia({ name: 'security-headers' }).onRequest(({ set }) => {
	Object.assign(set.headers, SECURITY_HEADERS)
})
