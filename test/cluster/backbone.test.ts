import { runOnCluster } from './suites'

// The event backbone (the bus contract, the outbox relay, request/reply), and what API instances
// share through Redis (rate-limit counters, revocation notices on pub/sub).
runOnCluster('the backbone on Redis Cluster', [
	'test/events/bus.contract.test.ts',
	'test/events/outbox.test.ts',
	'test/events/requests.test.ts',
	'test/auth/rate-limits.test.ts',
	'test/auth/instances.test.ts',
])
