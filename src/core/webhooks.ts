import { DOMAIN_EVENT_TYPES, type AnyEnvelope } from './catalogue'

/**
 * The rules of webhook delivery that the API and the dispatcher share: which events an endpoint
 * takes, what a delivery's body is, and when a failed attempt is tried again.
 */

export const WEBHOOK_DELIVERY_STATES = ['pending', 'delivered', 'failed'] as const
export type WebhookDeliveryState = (typeof WEBHOOK_DELIVERY_STATES)[number]

/** The type of the event `POST /webhooks/:id/test` sends; it is not on the stream and not filtered by `events`. */
export const WEBHOOK_TEST_EVENT = 'webhook.test'

/**
 * Ends a refusal by the SSRF guard, where the tenant reads it (the 422, the delivery log): on a
 * self-hosted server the tenant is often its operator, whose receiver runs on the same network.
 */
export const PRIVATE_TARGETS_HINT = '; a server started with WEBHOOK_ALLOW_PRIVATE_TARGETS=true allows it, for receivers on its own network'

const literally = (text: string) => text.replace(/[.+?^${}()|[\]\\]/g, '\\$&')

/** A `*` glob as a regular expression: `*` stands for any run of characters, dots included. */
const globPattern = (glob: string) => new RegExp(`^${glob.split('*').map(literally).join('.*')}$`)

/** The catalogue types a pattern selects; empty for a pattern that selects none (a typo). */
export function typesMatching(pattern: string): string[] {
	const re = globPattern(pattern)
	return DOMAIN_EVENT_TYPES.filter((type) => re.test(type))
}

/** Compiles an endpoint's `events` into one test. */
export function eventFilter(patterns: readonly string[]): (type: string) => boolean {
	if (patterns.includes('*')) return () => true
	const res = patterns.map(globPattern)
	return (type) => res.some((re) => re.test(type))
}

/**
 * A domain event as clients receive it, on the WebSocket and as a webhook's body alike (one parser
 * serves both): the envelope with `id` = its stream position and the envelope's uuid as `eventId`.
 */
export function wireEvent(position: string | null, envelope: Pick<AnyEnvelope, 'id' | 'type' | 'tenantId' | 'sessionId' | 'occurredAt' | 'data'>) {
	const { id: eventId, type, tenantId, sessionId, occurredAt, data } = envelope
	return JSON.stringify({ id: position, eventId, type, tenantId, sessionId, occurredAt, data })
}

/** A stream position as the two numbers deliveries sort by. */
export function splitPosition(position: string): { ms: number; seq: number } {
	const [ms = '0', seq = '0'] = position.split('-')
	return { ms: Number(ms), seq: Number(seq) }
}

/**
 * When attempt `attempt + 1` is due after attempt `attempt` (1-based) failed: the schedule's step
 * with ±10 % jitter, so receivers coming back up are not hit by every retry at once. Null once the
 * schedule is spent: the delivery has failed for good.
 */
export function retryDelayMs(schedule: readonly number[], attempt: number, random = Math.random): number | null {
	const step = schedule[attempt - 1]
	if (step === undefined) return null
	return Math.round(step * (0.9 + 0.2 * random()))
}

/**
 * A `Retry-After` header (seconds, or an HTTP date) as milliseconds from `now`; null when absent or
 * unreadable. Capped at a day, so a receiver cannot park a delivery forever.
 */
export function retryAfterMs(header: string | null, now: number): number | null {
	if (!header) return null
	const trimmed = header.trim()
	const ms = /^\d+$/.test(trimmed) ? Number(trimmed) * 1000 : Date.parse(trimmed) - now
	if (!Number.isFinite(ms)) return null
	return Math.min(Math.max(ms, 0), 24 * 3600 * 1000)
}

/** What binds an endpoint's encrypted secret to its row: a ciphertext copied to another endpoint does not decrypt. */
export const secretAad = (endpointId: string) => `webhook-secret:${endpointId}`
