/**
 * Makes `fetch` in this JS realm trust the stand-in's CDN: requests to its origin get the CA as
 * Bun's `tls.ca`, every other request goes out untouched (a `tls.ca` replaces the system roots,
 * so it must not reach other hosts). Baileys passes only `headers` and `dispatcher` to `fetch`,
 * so wrapping the global is the only per-realm hook; a separate process (or a Worker) is better
 * served by `NODE_EXTRA_CA_CERTS`, which Bun reads at process start only. Returns the undo.
 */
export function trustMediaCa(standIn: { mediaUrl: string; mediaCa: { pem: string } }): () => void {
	const origin = new URL(standIn.mediaUrl).origin
	const original = globalThis.fetch
	const trusting = (input: string | URL | Request, init?: RequestInit & { tls?: Record<string, unknown> }) => {
		const url = typeof input === 'string' ? input : input instanceof URL ? input.href : input.url
		if (URL.canParse(url) && new URL(url).origin === origin) {
			return original(input, { ...init, tls: { ...init?.tls, ca: [standIn.mediaCa.pem] } } as RequestInit)
		}
		return original(input, init)
	}
	globalThis.fetch = Object.assign(trusting, { preconnect: original.preconnect }) as typeof fetch
	return () => {
		globalThis.fetch = original
	}
}
