import { Elysia } from 'elysia'

/**
 * Headers every response carries. The API answers JSON that is the caller's own (tokens, messages,
 * contacts): no cache may keep it (`no-store`; a route whose answer may be cached sets its own),
 * no browser may sniff it into something else, frame it or send its URL on as a Referer. The CSP
 * forbids everything, which is right for JSON; a route that serves HTML (the API reference) sets
 * the policy its page needs.
 */
export const securityHeadersPlugin = new Elysia({ name: 'security-headers' }).onRequest(({ set }) => {
	set.headers['x-content-type-options'] = 'nosniff'
	set.headers['referrer-policy'] = 'no-referrer'
	set.headers['x-frame-options'] = 'DENY'
	set.headers['content-security-policy'] = "default-src 'none'; frame-ancestors 'none'"
	set.headers['cache-control'] = 'no-store'
})
