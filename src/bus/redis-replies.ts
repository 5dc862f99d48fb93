/** Reading Redis stream replies, whichever protocol (RESP2 or RESP3) the connection speaks. */

/** The field of a stream entry that holds the envelope JSON. */
export const ENVELOPE_FIELD = 'envelope'

export type RawList = [id: string, fields: string[] | null][]

export function fieldValue(fields: readonly string[] | null, name: string): string | null {
	if (!fields) return null
	for (let i = 0; i + 1 < fields.length; i += 2) if (fields[i] === name) return fields[i + 1]!
	return null
}

export function fieldsObject(fields: readonly string[] | null): Record<string, string> {
	const out: Record<string, string> = {}
	for (let i = 0; fields && i + 1 < fields.length; i += 2) out[fields[i]!] = fields[i + 1]!
	return out
}

/**
 * XREAD/XREADGROUP replies: RESP2 gives `[[key, entries], …]`, RESP3 a map that ioredis' `call`
 * flattens to `[key, entries, key, entries]` (ioredis 6 speaks RESP3 by default).
 */
export function streamPairs(reply: unknown): [string, RawList][] {
	if (!Array.isArray(reply) || reply.length === 0) return []
	if (typeof reply[0] === 'string' || Buffer.isBuffer(reply[0])) {
		const pairs: [string, RawList][] = []
		for (let i = 0; i + 1 < reply.length; i += 2) pairs.push([String(reply[i]), reply[i + 1] as RawList])
		return pairs
	}
	return reply as [string, RawList][]
}

/** One group of XINFO GROUPS: a flat `[name, value, …]` list (RESP2, and RESP3 through `call`) or a map. */
export function groupFields(raw: unknown): Record<string, unknown> {
	if (!Array.isArray(raw)) return (raw ?? {}) as Record<string, unknown>
	const out: Record<string, unknown> = {}
	for (let i = 0; i + 1 < raw.length; i += 2) out[String(raw[i])] = raw[i + 1]
	return out
}
