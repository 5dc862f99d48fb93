import Redis, { Cluster, type RedisOptions } from 'ioredis'
import type { RedisClient } from '../lib/redis-client'
import { TimeoutError, withTimeout } from '../lib/timeout'
import type { Logger } from '../logger'
import { type ClusterAddress, parseClusterUrl } from '../config/cluster-url'

export interface OpenRedisOptions {
	/** REDIS_CLUSTER_NAT_MAP, parsed. */
	natMap?: Record<string, { host: string; port: number }>
}

/** What every connection (each node's, on a cluster) is opened with. */
const connectionOptions = (name: string): RedisOptions => ({
	connectionName: `switchboard:${name}`,
	lazyConnect: false,
	maxRetriesPerRequest: 2,
	enableOfflineQueue: true,
	connectTimeout: 2_000,
	retryStrategy: (attempt) => Math.min(attempt * 100, 2_000),
})

function openCluster(address: ClusterAddress, name: string, { natMap }: OpenRedisOptions): Cluster {
	return new Cluster(address.nodes, {
		redisOptions: {
			...connectionOptions(name),
			...(address.username ? { username: address.username } : {}),
			...(address.password ? { password: address.password } : {}),
			...(address.tls ? { tls: {} } : {}),
		},
		enableOfflineQueue: true,
		// Slots move during a failover: MOVED, TRYAGAIN and CLUSTERDOWN are retried after these delays.
		retryDelayOnFailover: 200,
		retryDelayOnClusterDown: 200,
		clusterRetryStrategy: (attempt) => Math.min(attempt * 100, 2_000),
		slotsRefreshTimeout: 2_000,
		natMap,
		// TLS certificates of managed clusters name the configuration endpoint, not the node IPs that
		// DNS would turn it into: keep the name so the certificate matches.
		...(address.tls ? { dnsLookup: (host: string, callback: (err: null, address: string) => void) => callback(null, host) } : {}),
	})
}

/**
 * A Redis connection that never waits forever: commands fail fast while Redis is away instead of
 * piling up in ioredis' offline queue, and reconnects back off up to 2 s. A `redis+cluster://`
 * URL gives a cluster client (see `parseClusterUrl`).
 */
export function openRedis(url: string, logger: Logger, name = 'main', options: OpenRedisOptions = {}): RedisClient {
	const cluster = parseClusterUrl(url)
	const redis = cluster ? openCluster(cluster, name, options) : new Redis(url, connectionOptions(name))
	let down = false
	redis.on('error', (err) => {
		// The reason itself (`error`): pino's error serializer takes a string under `err` for nothing.
		if (!down) logger.warn({ error: err.message, code: (err as { code?: string }).code, connection: name }, 'redis connection error')
		down = true
	})
	redis.on('ready', () => {
		if (down) logger.info({ connection: name }, 'redis connection restored')
		down = false
	})
	return redis
}

/** Closes politely, falling back to a hard disconnect if Redis does not answer. */
export async function closeRedis(redis: RedisClient): Promise<void> {
	if (redis.status === 'end') return
	try {
		// withTimeout clears its timer: a pending sleep would keep a worker thread alive for a second.
		await withTimeout(redis.quit(), 1_000, 'redis quit')
	} catch {
		redis.disconnect()
	}
}

/** How long a start waits for Redis's first answer. */
const FIRST_ANSWER_MS = 10_000

/**
 * Why Redis does not answer a first PING (in words, for the start's one line), or null once it
 * answers. A start asks, so that a wrong or unreachable REDIS_URL ends it as PostgreSQL's does
 * rather than leave a process that says it listens while its roles fail and retry.
 */
export async function whyRedisUnreachable(redis: RedisClient): Promise<string | null> {
	let last: (Error & { code?: string }) | undefined
	const onError = (err: Error) => {
		last = err
	}
	redis.on('error', onError)
	try {
		await withTimeout(redis.ping(), FIRST_ANSWER_MS, 'the first PING')
		return null
	} catch (err) {
		const cause = last ?? (err as Error & { code?: string })
		if (cause.code === 'ECONNREFUSED') return 'connection refused'
		if (cause.code === 'ENOTFOUND' || cause.code === 'EAI_AGAIN') return 'its host name does not resolve'
		if (err instanceof TimeoutError && !last) return `no answer within ${FIRST_ANSWER_MS / 1000} s`
		return cause.message.slice(0, 200)
	} finally {
		redis.off('error', onError)
	}
}
