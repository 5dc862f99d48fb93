import pino from 'pino'
import type { AnyEnvelope } from '../src/core/catalogue'
import { createRedisBus } from '../src/bus/redis-bus'
import { closeRedis, openRedis } from '../src/redis/connection'
import type { Replication } from '../src/redis/slots'
import { qrEvent, stopCommand } from '../test/events/helpers'
import { startPrivateRedis } from '../test/helpers/private-redis'
import { startRedisCluster } from '../test/helpers/redis-cluster'
import type { BenchResult } from './run'

/**
 * What publishing costs on a Redis Cluster, beside one Redis on the same machine: batches of 100
 * envelopes (90 events, 10 commands spread over 32 partitions, as the relay and the runners send
 * them), one batch at a time, through the bus. On the cluster a batch is one pipeline per slot
 * it touches; with WAIT each pipeline also waits for its replica.
 */
const BATCHES = Number(process.env.BENCH_CLUSTER_BATCHES ?? 200)
const BATCH = 100
const ROUNDS = 3
const logger = pino({ level: 'silent' })

function batch(): AnyEnvelope[] {
	return Array.from({ length: BATCH }, (_, i) => (i % 10 === 9 ? stopCommand(Bun.randomUUIDv7()) : qrEvent()))
}

async function publishRate(url: string, replication?: Replication): Promise<number> {
	const redis = openRedis(url, logger, 'bench')
	const bus = createRedisBus({ redis, prefix: `bench:${Bun.randomUUIDv7()}:`, partitions: 32, logger, replication })
	try {
		await bus.publish(batch())
		const started = performance.now()
		for (let i = 0; i < BATCHES; i++) await bus.publish(batch())
		return (BATCHES * BATCH) / ((performance.now() - started) / 1000)
	} finally {
		await bus.close()
		await closeRedis(redis)
	}
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!

export default async function clusterBench(): Promise<BenchResult[]> {
	const single = await startPrivateRedis({ persist: false })
	const cluster = await startRedisCluster()
	try {
		const rates = { single: [] as number[], cluster: [] as number[], waited: [] as number[] }
		// Interleaved rounds: a load change on the machine touches all three alike.
		for (let round = 0; round < ROUNDS; round++) {
			rates.single.push(await publishRate(single.url))
			rates.cluster.push(await publishRate(cluster.url))
			rates.waited.push(await publishRate(cluster.url, { replicas: 1, timeoutMs: 1_000 }))
		}
		const baseline = median(rates.single)
		const common = { unit: 'envelopes/s', baseline, baselineName: 'one Redis, same bus', higherIsBetter: true }
		return [
			{ name: 'publish on a 3-master cluster, no WAIT', value: median(rates.cluster), ...common },
			{ name: 'publish on a 3-master cluster, WAIT 1 replica', value: median(rates.waited), ...common },
		]
	} finally {
		await cluster.close()
		await single.close()
	}
}
