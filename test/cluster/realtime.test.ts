import { runOnCluster } from './suites'

// The WebSocket hub: delivery, resume, snapshots, several API instances, back-pressure, auth.
runOnCluster('realtime on Redis Cluster', [
	'test/realtime/delivery.test.ts',
	'test/realtime/resume.test.ts',
	'test/realtime/snapshot.test.ts',
	'test/realtime/instances.test.ts',
	'test/realtime/backpressure.test.ts',
	'test/realtime/auth.test.ts',
])
