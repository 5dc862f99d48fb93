import { readFileSync } from 'node:fs'
import { rootCertificates } from 'node:tls'

/**
 * Makes every https `fetch` of this realm (Worker or main thread) trust the CA in `pemFile` beside
 * the system's roots: the `WA_MEDIA_CA_FILE` setting, for a stand-in's media CDN. Baileys fetches
 * media uploads and downloads with the global `fetch` and takes no certificate options, and
 * `NODE_EXTRA_CA_CERTS` only counts when it is set before the process starts; this works in any
 * realm at any time. Returns the undo.
 */
export function trustMediaCa(pemFile: string): () => void {
	const ca = [...rootCertificates, readFileSync(pemFile, 'utf8')]
	const original = globalThis.fetch
	const trusting = (input: string | URL | Request, init?: RequestInit & { tls?: Record<string, unknown> }) => {
		const url = typeof input === 'string' ? input : input instanceof URL ? input.href : input.url
		if (!url.startsWith('https:')) return original(input, init)
		return original(input, { ...init, tls: { ...init?.tls, ca } } as RequestInit)
	}
	globalThis.fetch = Object.assign(trusting, { preconnect: original.preconnect }) as typeof fetch
	return () => {
		globalThis.fetch = original
	}
}
