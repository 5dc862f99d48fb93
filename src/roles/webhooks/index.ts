import { isDomainEvent } from '../../core/catalogue'
import { DOMAIN_EVENTS, WEBHOOKS_GROUP } from '../../core/streams'
import { isTransientDbError } from '../../db/errors'
import { enqueueEvents } from '../../db/webhooks'
import type { RoleDeps, RoleHandle } from '../types'
import { startDispatcher } from './dispatcher'
import { webhookMetrics } from './metrics'
import { backlogAges } from './store'

/**
 * Role `webhooks`: reads `domain-events` through its own consumer group and records a delivery for
 * every enabled endpoint that takes each event, in Postgres, before the entry is acknowledged — a
 * process killed at any point loses nothing, the entry is read again and the insert is idempotent.
 * A dispatcher in the same role sends what is due. Several processes may run the role: they share
 * the group, and the dispatchers claim deliveries with row locks.
 */
export async function start({ config, logger, database, bus, metrics: registry }: RoleDeps): Promise<RoleHandle> {
	const db = database.db
	const metrics = webhookMetrics(registry, () => backlogAges(db))
	const dispatcher = startDispatcher({ db, bus, config: config.webhooks, encryptionKey: config.encryptionKey, logger, metrics })
	const consumer = await bus.consume({
		group: WEBHOOKS_GROUP,
		streams: [DOMAIN_EVENTS],
		batchSize: 256,
		claimIdleMs: config.events.claimIdleMs,
		maxDeliveries: config.events.maxDeliveries,
		isTransient: isTransientDbError,
		async handle(batch) {
			const events = batch.flatMap((d) => (isDomainEvent(d.envelope) ? [{ position: d.id, envelope: d.envelope }] : []))
			const recorded = await enqueueEvents(db, events)
			if (recorded) dispatcher.wake()
		},
	})
	logger.info({ group: WEBHOOKS_GROUP }, 'webhooks started')
	return {
		async stop() {
			await consumer.stop()
			await dispatcher.stop()
			logger.info('webhooks stopped')
		},
	}
}
