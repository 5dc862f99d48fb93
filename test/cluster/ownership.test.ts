import { runOnCluster } from './suites'

// Partition leases and fencing, runners taking partitions over, failover of a killed runner, scaling.
runOnCluster('ownership on Redis Cluster', [
	'test/ownership/leases.test.ts',
	'test/ownership/coordinator.test.ts',
	'test/ownership/runner-leases.test.ts',
	'test/ownership/failover.test.ts',
	'test/ownership/scaling.test.ts',
])
