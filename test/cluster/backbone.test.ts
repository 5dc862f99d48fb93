import { runOnCluster } from './suites'

// The event backbone: the bus contract, the outbox relay and request/reply.
runOnCluster('the backbone on Redis Cluster', ['test/events/bus.contract.test.ts', 'test/events/outbox.test.ts', 'test/events/requests.test.ts'])
