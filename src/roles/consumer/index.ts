import type { GroupConsumer } from '../../bus/bus'
import { isDomainEvent } from '../../core/catalogue'
import { CONSUMER_GROUP, DOMAIN_EVENTS } from '../../core/streams'
import { watchLostRunners } from './lost-runners'
import { consumerMetrics } from './metrics'
import { isTransientDbError } from '../../db/errors'
import { applyEvents } from '../../db/projection'
import type { RoleDeps, RoleHandle } from '../types'

/**
 * Role `consumer`: persists `domain-events` into Postgres (projection.ts). Several consume loops
 * share the group, so batches are written in parallel; the projection is order-independent, which
 * is what makes that (and at-least-once redelivery) safe.
 */
export async function start({ config, logger, database, bus, redis, metrics }: RoleDeps): Promise<RoleHandle> {
	const recorded = consumerMetrics(metrics)
	// PGlite runs one query at a time: a second loop would only queue behind the first.
	const loops = database.kind === 'pglite' ? 1 : config.events.consumerConcurrency
	const consumers: GroupConsumer[] = []
	for (let i = 0; i < loops; i++)
		consumers.push(
			await bus.consume({
				group: CONSUMER_GROUP,
				streams: [DOMAIN_EVENTS],
				batchSize: config.events.consumerBatchSize,
				claimIdleMs: config.events.claimIdleMs,
				maxDeliveries: config.events.maxDeliveries,
				isTransient: isTransientDbError,
				async handle(batch) {
					const events = batch.map((d) => d.envelope).filter(isDomainEvent)
					const stats = await recorded.batch(events, () => applyEvents(database.db, events))
					logger.debug({ stats }, 'applied domain events')
				},
			}),
		)
	// A fleet's sessions can outlive every runner; the consumer runs in every fleet, so it watches for that.
	const lostRunners =
		redis && bus.kind === 'redis' && config.ownership.lostAfterMs
			? watchLostRunners({ redis, db: database.db, bus, config, logger, metrics: recorded })
			: null
	logger.info({ loops, group: CONSUMER_GROUP }, 'consumer started')
	return {
		async stop() {
			await lostRunners?.stop()
			await Promise.all(consumers.map((c) => c.stop()))
			logger.info('consumer stopped')
		},
	}
}
