import { and, eq, inArray } from 'drizzle-orm'
import { schema, type Db } from '../../db/client'
import type { WebhookDelivery } from './model'

const { webhookDeliveries: deliveries } = schema

/**
 * The delivery log's pending rows with when they go out at the earliest: never before the delivery
 * at their session's head (the earliest pending one, which may wait for a retry), and not at all
 * while the endpoint is disabled (null). A row's own time says only when it was queued.
 */
export async function whenDue(db: Db, endpoint: { id: string; enabled: boolean }, items: WebhookDelivery[]): Promise<WebhookDelivery[]> {
	const pending = items.filter((d) => d.state === 'pending')
	if (!pending.length) return items
	if (!endpoint.enabled) return items.map((d) => (d.state === 'pending' ? { ...d, nextAttemptAt: null } : d))
	const sessions = [...new Set(pending.flatMap((d) => (d.sessionId ? [d.sessionId] : [])))]
	if (!sessions.length) return items
	const heads = await db
		.selectDistinctOn([deliveries.sessionId], { sessionId: deliveries.sessionId, nextAttemptAt: deliveries.nextAttemptAt })
		.from(deliveries)
		.where(and(eq(deliveries.endpointId, endpoint.id), eq(deliveries.state, 'pending'), inArray(deliveries.sessionId, sessions)))
		.orderBy(deliveries.sessionId, deliveries.positionMs, deliveries.positionSeq)
	const headOf = new Map(heads.map((h) => [h.sessionId, h.nextAttemptAt.getTime()]))
	return items.map((d) => {
		const head = d.sessionId ? headOf.get(d.sessionId) : undefined
		if (d.state !== 'pending' || head === undefined || !d.nextAttemptAt || Date.parse(d.nextAttemptAt) >= head) return d
		return { ...d, nextAttemptAt: new Date(head).toISOString() }
	})
}
