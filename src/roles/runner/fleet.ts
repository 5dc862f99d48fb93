import type { Config } from '../../config'
import type { RedisClient } from '../../lib/redis-client'
import type { FleetSource } from '../../observability/system'
import { createRedisLeaseStore, type LeaseStore } from './leases'

/**
 * The fleet as /metrics shows it, read from the runners' heartbeats and partition leases: a fleet
 * with no runner left shows here at once (its sessions are said lost only after
 * `RUNNER_LOST_AFTER_MS`). The lease store's connection is opened at the first scrape.
 */
export function fleetSource(
	redis: RedisClient,
	config: Pick<Config, 'redisPrefix' | 'events' | 'ownership'>,
): FleetSource & { close(): Promise<void> } {
	let store: LeaseStore | null = null
	return {
		async read() {
			store ??= createRedisLeaseStore({
				redis,
				prefix: config.redisPrefix,
				partitions: config.events.commandPartitions,
				commandTimeoutMs: config.ownership.renewEveryMs,
			})
			const { runners, partitions } = await store.fleet()
			return { runners: runners.length, unownedPartitions: partitions.filter((lease) => lease === null).length }
		},
		async close() {
			await store?.close()
		},
	}
}
