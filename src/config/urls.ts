import { ClusterNodeError, parseClusterUrl } from './cluster-url'
import { HINTS } from './env'

/** The settings that hold a URL. The schema checks their scheme; `urlProblem` checks the rest. */
export const URL_SETTINGS = ['DATABASE_URL', 'REDIS_URL', 'SMTP_URL', 'PUBLIC_URL', 'WA_WEBSOCKET_URL', 'MEDIA_S3_ENDPOINT'] as const

/**
 * Why a URL setting's value cannot be used, in words, or null when it can. Without this check a
 * value such as `ws://` or `postgres://[bad` fails later with a library's "Invalid URL", or a
 * stack trace, naming no setting. The value itself is not shown: it may hold a password.
 */
export function urlProblem(key: (typeof URL_SETTINGS)[number], value: string): string | null {
	const reason = urlFault(key, value)
	return reason && `${key}: ${HINTS[key]}, and this one ${reason}`
}

function urlFault(key: (typeof URL_SETTINGS)[number], value: string): string | null {
	if (key === 'REDIS_URL' && value.includes('+cluster://')) return clusterFault(value)
	if (key === 'DATABASE_URL') {
		// postgres.js reads only the first of several comma-separated hosts as a URL: check what it checks.
		const hosts = value.slice(value.indexOf('://') + 3).split(/[?/]/)[0]!
		const host = safeDecode(hosts.slice(hosts.indexOf('@') + 1))
		return URL.canParse(value.replace(host, host.split(',')[0]!)) ? null : 'is not a well-formed URL'
	}
	if (!URL.canParse(value)) return 'is not a well-formed URL (is its host or port missing or wrong?)'
	// http(s) and ws(s) URLs cannot parse without a host; smtp:// can, and then mails go nowhere.
	if (key === 'SMTP_URL' && !new URL(value).hostname) return 'names no host'
	return null
}

/** A redis+cluster:// URL read as the Redis connection reads it (parseClusterUrl). */
function clusterFault(value: string): string | null {
	try {
		return parseClusterUrl(value) ? null : 'is not a well-formed URL'
	} catch (err) {
		if (err instanceof ClusterNodeError) return `has a seed node ${err.fault}`
		// The user and password are percent-decoded, as in any URL.
		if (err instanceof URIError) return 'has a user or password with a malformed %-escape'
		throw err
	}
}

function safeDecode(text: string): string {
	try {
		return decodeURIComponent(text)
	} catch {
		return text
	}
}
