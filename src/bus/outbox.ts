import type { Db, Tx } from '../db/client'
import { outbox } from '../db/schema'
import { assertEnvelope, isCommandType, type AnyEnvelope } from '../core/catalogue'
import { DOMAIN_EVENTS, SESSION_COMMANDS } from '../core/streams'

/**
 * Writes envelopes to the outbox inside the caller's transaction, so they are published if and
 * only if the state change they announce commits. Call `relay.nudge()` after the commit for low
 * latency; the relay's timer picks the rows up anyway.
 *
 * ```ts
 * await db.transaction(async (tx) => {
 *   await tx.update(sessions).set({ desiredState: 'stopped' }).where(eq(sessions.id, id))
 *   await enqueue(tx, command('session.stop', { tenantId, sessionId: id }, {}))
 * })
 * relay.nudge()
 * ```
 *
 * The row keeps the logical stream (`domain-events` / `session-commands`); the bus picks the
 * command partition when the relay publishes.
 */
export async function enqueue(tx: Tx | Db, envelopes: AnyEnvelope | readonly AnyEnvelope[]): Promise<void> {
	const list: readonly AnyEnvelope[] = Array.isArray(envelopes) ? envelopes : [envelopes as AnyEnvelope]
	if (!list.length) return
	for (const e of list) assertEnvelope(e)
	await tx.insert(outbox).values(
		list.map((e) => ({
			eventId: e.id,
			stream: isCommandType(e.type) ? SESSION_COMMANDS : DOMAIN_EVENTS,
			type: e.type,
			payload: e,
		})),
	)
}
