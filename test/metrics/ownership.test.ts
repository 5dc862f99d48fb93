import { describe, expect, it } from 'bun:test'
import { Registry } from 'prom-client'
import { runnerMetrics } from '../../src/roles/runner/metrics'
import { emptyOwnershipStats, type OwnershipStats } from '../../src/roles/runner/ownership'
import { sample } from './helpers'

describe("a runner's partition ownership on /metrics", () => {
	it('follows the counters the ownership keeps, read at scrape time', async () => {
		const registry = new Registry()
		const stats: OwnershipStats = {
			...emptyOwnershipStats('runner-a'),
			owned: 3,
			liveRunners: 2,
			fairShare: 3,
			renewals: 10,
			renewalFailures: 1,
			acquired: 4,
			takeovers: 1,
			handedOver: 1,
			lost: 0,
			selfFenced: 0,
		}
		runnerMetrics(registry).watchOwnership(stats)
		let text = await registry.metrics()
		expect(sample(text, 'switchboard_partitions_owned')).toBe(3)
		expect(sample(text, 'switchboard_lease_renewals_total')).toBe(10)
		expect(sample(text, 'switchboard_partition_takeovers_total')).toBe(1)
		expect(sample(text, 'switchboard_partition_releases_total{how="handed_over"}')).toBe(1)

		Object.assign(stats, { owned: 2, renewals: 25, lost: 1 })
		text = await registry.metrics()
		expect(sample(text, 'switchboard_partitions_owned')).toBe(2)
		expect(sample(text, 'switchboard_lease_renewals_total')).toBe(25)
		expect(sample(text, 'switchboard_partition_releases_total{how="lost"}')).toBe(1)
	})
})
