import { lookup } from 'node:dns/promises'
import { BlockList, isIP } from 'node:net'
import { withTimeout } from './timeout'

/**
 * The SSRF guard of outgoing requests to addresses a tenant chose (webhook URLs): which addresses a
 * request may not reach, and a resolution that picks an address that may be reached, so the caller
 * connects to exactly the address that was checked (no second lookup, no DNS-rebinding window).
 */

type Ranges = [string, number][]

/** A refusal's reason with its article: "a loopback address", "an unspecified address". */
export const anAddress = (reason: string) => `${/^[aeiou]/i.test(reason) ? 'an' : 'a'} ${reason} address`

const CATEGORIES: [reason: string, v4: Ranges, v6: Ranges][] = [
	['loopback', [['127.0.0.0', 8]], [['::1', 128]]],
	['unspecified', [['0.0.0.0', 8]], [['::', 128]]],
	[
		'private',
		[
			['10.0.0.0', 8],
			['172.16.0.0', 12],
			['192.168.0.0', 16],
		],
		[['fc00::', 7]],
	],
	['link-local', [['169.254.0.0', 16]], [['fe80::', 10]]],
	['shared address space (CGNAT)', [['100.64.0.0', 10]], []],
	['multicast', [['224.0.0.0', 4]], [['ff00::', 8]]],
	[
		'reserved',
		[
			['192.0.0.0', 24],
			['192.0.2.0', 24],
			['192.88.99.0', 24],
			['198.18.0.0', 15],
			['198.51.100.0', 24],
			['203.0.113.0', 24],
			['240.0.0.0', 4],
		],
		[
			// Site-local (deprecated), documentation, discard-only, IETF protocol space (Teredo
			// included), and the prefixes that embed an IPv4 address a translator would reach
			// (IPv4-compatible, IPv4-translated, NAT64, 6to4): any of them could lead to an internal IPv4 address.
			['fec0::', 10],
			['2001:db8::', 32],
			['100::', 64],
			['2001::', 23],
			['::', 96],
			// IPv4-translated (SIIT), ::ffff:0:a.b.c.d; the IPv4-mapped ::ffff:a.b.c.d is checked as the IPv4 address.
			['::ffff:0:0:0', 96],
			['64:ff9b::', 96],
			['64:ff9b:1::', 48],
			['2002::', 16],
		],
	],
]

const LISTS = CATEGORIES.map(([reason, v4, v6]) => {
	const list = new BlockList()
	for (const [net, bits] of v4) list.addSubnet(net, bits, 'ipv4')
	for (const [net, bits] of v6) list.addSubnet(net, bits, 'ipv6')
	return { reason, list }
})

/**
 * Why `address` (an IP literal) may not be reached, or null when it may. IPv4-mapped IPv6
 * addresses (`::ffff:127.0.0.1`) are judged as the IPv4 address they carry.
 */
export function refusedAddress(address: string): string | null {
	const family = isIP(address)
	if (family === 0) return 'not an IP address'
	const type = family === 4 ? 'ipv4' : 'ipv6'
	return LISTS.find(({ list }) => list.check(address, type))?.reason ?? null
}

/** A URL's host as an IP literal (brackets of IPv6 removed), or null for a name. */
export function literalHost(url: URL): string | null {
	const host = url.hostname.replace(/^\[(.*)\]$/, '$1')
	return isIP(host) ? host : null
}

export class RefusedTargetError extends Error {
	override name = 'RefusedTargetError'
}

export interface ResolvedTarget {
	address: string
	family: 4 | 6
}

export type Resolver = (hostname: string) => Promise<{ address: string; family: number }[]>

const systemResolver: Resolver = (hostname) => lookup(hostname, { all: true, verbatim: true })

/** The addresses of a name; a failure names the name (the resolver's own message, `getaddrinfo ENOTFOUND`, does not). */
async function resolveName(hostname: string, resolve: Resolver) {
	try {
		return await resolve(hostname)
	} catch (err) {
		const { code, message } = err as { code?: unknown; message?: unknown }
		throw new Error(`could not resolve ${hostname} (${typeof code === 'string' ? code : String(message)})`, { cause: err })
	}
}

/**
 * Why every address a name resolves to may not be reached (`loopback` for `localhost`), or null
 * when one may, or when the name does not resolve within `timeoutMs` (a check at delivery decides
 * then). For an early answer only: delivery resolves again and checks the address it connects to.
 */
export async function nameRefusal(hostname: string, timeoutMs: number, resolve: Resolver = systemResolver): Promise<string | null> {
	const addresses = await withTimeout(resolve(hostname), timeoutMs, 'resolving the host').catch(() => [])
	const reasons = addresses.map(({ address }) => refusedAddress(address))
	return reasons.length && reasons.every((reason) => reason !== null) ? reasons[0]! : null
}

/**
 * The address to connect to for `url`: its literal IP, or the first address its name resolves to
 * that may be reached. Throws RefusedTargetError saying why when none may (with
 * `allowPrivate`, any address may).
 */
export async function resolveTarget(url: URL, allowPrivate: boolean, resolve: Resolver = systemResolver): Promise<ResolvedTarget> {
	const literal = literalHost(url)
	const candidates = literal ? [{ address: literal, family: isIP(literal) }] : await resolveName(url.hostname, resolve)
	if (!candidates.length) throw new RefusedTargetError(`${url.hostname} resolves to no address`)
	let refusal = ''
	for (const { address, family } of candidates) {
		const reason = allowPrivate ? null : refusedAddress(address)
		if (!reason) return { address, family: family === 6 ? 6 : 4 }
		// A name's addresses stay unsaid: the reason reaches the tenant (the delivery log), and the
		// operator's internal DNS is not theirs to map.
		refusal ||= literal ? `${address} is ${anAddress(reason)}` : `it resolves to ${anAddress(reason)}`
	}
	throw new RefusedTargetError(`refused ${url.hostname}: ${refusal}`)
}
