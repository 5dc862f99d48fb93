import { compareIds } from '../../bus/bus'
import { isDomainEvent } from '../../core/catalogue'
import { DOMAIN_EVENTS, WEBHOOKS_GROUP } from '../../core/streams'
import { isTransientDbError } from '../../db/errors'
import { enqueueEvents } from '../../db/webhooks'
import type { RoleDeps, RoleHandle } from '../types'
import { type Offer, startDispatcher } from './dispatcher'
import { webhookMetrics } from './metrics'
import { recordedBefore } from './progress'
import { startDeliveryRetention } from './retention'
import { backlogAges } from './store'

/**
 * Entries read at once. Each batch costs a few round trips whatever its size (the group's progress,
 * the endpoints, the insert, the ack), and its lanes wait for it before they get more to send.
 */
const BATCH = 1_000

/**
 * Role `webhooks`: reads `domain-events` through its own consumer group and records a delivery for
 * every enabled endpoint that takes each event, in Postgres, before the entry is acknowledged — a
 * process killed at any point loses nothing, the entry is read again and the insert is idempotent.
 * A dispatcher in the same role sends what is due. Several processes may run the role: they share
 * the group, and the dispatchers claim deliveries with row locks.
 *
 * Recording and sending meet without a claim in between when they can: once every earlier entry is
 * acknowledged, the batch's rows are inserted already held by this process's dispatcher (lane by
 * lane, only where nothing else of the lane waits) and handed to it with their bodies, so a steady
 * stream costs one insert and one outcome write a delivery, and no claim.
 *
 * It also keeps the delivery log to WEBHOOK_DELIVERY_RETENTION_SECONDS (see `retention.ts`).
 */
export async function start({ config, logger, database, bus, metrics: registry }: RoleDeps): Promise<RoleHandle> {
	const db = database.db
	const metrics = webhookMetrics(registry, () => backlogAges(db))
	const dispatcher = startDispatcher({ db, bus, config: config.webhooks, encryptionKey: config.encryptionKey, logger, metrics })
	const consumer = await bus.consume({
		group: WEBHOOKS_GROUP,
		streams: [DOMAIN_EVENTS],
		batchSize: BATCH,
		claimIdleMs: config.events.claimIdleMs,
		maxDeliveries: config.events.maxDeliveries,
		isTransient: isTransientDbError,
		async handle(batch) {
			const events = batch.flatMap((d) => (isDomainEvent(d.envelope) ? [{ position: d.id, envelope: d.envelope }] : []))
			if (!events.length) return
			// The batch's lanes go straight to this dispatcher when nothing before them is still unrecorded.
			const first = events.reduce((min, e) => (compareIds(e.position, min) < 0 ? e.position : min), events[0]!.position)
			let offer: Offer | null = null
			try {
				const handOff = (await recordedBefore(bus, first))
					? (lanes: { endpointId: string; sessionId: string }[]) => {
							offer = dispatcher.offer(lanes)
							return offer?.handOff ?? null
						}
					: undefined
				const { count, held } = await enqueueEvents(db, events, handOff)
				if (held.length) (offer as Offer | null)?.take(held)
				if (count > held.length) dispatcher.wake()
			} finally {
				;(offer as Offer | null)?.close()
			}
		},
	})
	const retention = startDeliveryRetention({ db, logger, retentionMs: config.webhooks.deliveryRetentionMs })
	logger.info({ group: WEBHOOKS_GROUP }, 'webhooks started')
	return {
		async stop() {
			await retention.stop()
			await consumer.stop()
			await dispatcher.stop()
			logger.info('webhooks stopped')
		},
	}
}
