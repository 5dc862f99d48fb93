import { duplicateRedis, type RedisClient } from '../../lib/redis-client'
import type { ChainableCommander } from 'ioredis'
import { partitionStream } from '../../core/streams'
import { pipelined, type Reply, type Replication } from '../../redis/slots'

/**
 * Partition leases and runner heartbeats in Redis. Every key of partition p extends
 * its command stream's name, so it carries the stream's hash tag `{p}` and lives in the same
 * Redis Cluster slot as the stream and its consumer group:
 *
 *   <prefix>session-commands:{p}:lease   "<runner> <fence>", PX = lease TTL; exists = held
 *   <prefix>session-commands:{p}:owner   hash: fence (the counter, only ever incremented),
 *                                        holder (last holder; emptied by a graceful release)
 *   <prefix>runners                      sorted set: runner id → heartbeat expiry (Redis time, ms)
 *   <prefix>runners:changes              pub/sub: a runner joined, left or handed partitions over
 *
 * Every decision (is it free, is it still mine, which runners are alive) is taken inside one Lua
 * script on Redis' own clock, so runners' clocks never have to agree.
 */

export interface Lease {
	partition: number
	holder: string
	/** Fencing token: larger than any token handed out for this partition before. */
	fence: number
}

export interface Acquired extends Lease {
	/** The previous holder when its lease expired instead of being released (a takeover); null when it was free. */
	expiredHolder: string | null
}

/** Per lease: renewed, gone or someone else's (false), or the round trip failed (an Error: nothing is known). */
export type RenewResult = boolean | Error

export interface Fleet {
	/** Runners with a live heartbeat, sorted. */
	runners: string[]
	/** Holder of each partition's lease, by partition; null = free. */
	partitions: (Lease | null)[]
}

export interface LeaseStore {
	/** Takes each partition whose lease is free; null for those held by anyone (this runner included) or not reached. */
	acquire(partitions: readonly number[], holder: string, ttlMs: number): Promise<(Acquired | null)[]>
	/** Extends leases that are still this holder's, one round trip for all. */
	renew(leases: readonly Lease[], ttlMs: number): Promise<RenewResult[]>
	/** Lets go of a lease if it is still this holder's; true when it was. */
	release(lease: Lease): Promise<boolean>
	/** Records that `runner` is alive for `ttlMs` and answers with every live runner, sorted. */
	heartbeat(runner: string, ttlMs: number): Promise<string[]>
	/** Removes `runner` from the live runners at once. */
	leave(runner: string): Promise<void>
	fleet(): Promise<Fleet>
	/** Tells every runner that ownership changed (they rebalance now instead of at their next tick). */
	announce(runner: string): Promise<void>
	/** Calls `listener` with the announcing runner's id on every announcement. */
	onAnnouncement(listener: (runner: string) => void): Promise<void>
	close(): Promise<void>
}

const NOW_MS = `local t = redis.call('TIME')
local now = t[1] * 1000 + math.floor(t[2] / 1000)`

/**
 * KEYS lease, owner · ARGV holder, ttl → nil (held) or {fence, expired holder or ''}. The fence
 * travels as a string: Lua would print a number this large in exponent notation.
 */
const ACQUIRE = `if redis.call('EXISTS', KEYS[1]) == 1 then return false end
if redis.call('HEXISTS', KEYS[2], 'fence') == 0 then
  -- A counter lost with Redis' data restarts from the clock in microseconds: above every fence
  -- handed out before (a partition never changes hands once a microsecond), so stored auth state
  -- never outranks the new owner. Still below 2^53 until the 23rd century.
  local t = redis.call('TIME')
  redis.call('HSET', KEYS[2], 'fence', string.format('%.0f', t[1] * 1000000 + t[2]))
end
local fence = string.format('%.0f', redis.call('HINCRBY', KEYS[2], 'fence', 1))
local previous = redis.call('HGET', KEYS[2], 'holder') or ''
redis.call('HSET', KEYS[2], 'holder', ARGV[1])
redis.call('SET', KEYS[1], ARGV[1] .. ' ' .. fence, 'NX', 'PX', ARGV[2])
return {fence, previous}`

/** KEYS lease · ARGV value, ttl → 1 renewed, 0 not ours */
const RENEW = `if redis.call('GET', KEYS[1]) ~= ARGV[1] then return 0 end
return redis.call('PEXPIRE', KEYS[1], ARGV[2])`

/** KEYS lease, owner · ARGV value → 1 released, 0 not ours */
const RELEASE = `if redis.call('GET', KEYS[1]) ~= ARGV[1] then return 0 end
redis.call('DEL', KEYS[1])
redis.call('HSET', KEYS[2], 'holder', '')
return 1`

/** KEYS runners · ARGV runner, ttl → live runners */
const HEARTBEAT = `${NOW_MS}
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', string.format('%.0f', now))
redis.call('ZADD', KEYS[1], string.format('%.0f', now + tonumber(ARGV[2])), ARGV[1])
redis.call('PEXPIRE', KEYS[1], ARGV[2])
return redis.call('ZRANGE', KEYS[1], 0, -1)`

/** KEYS runners → live runners (read only) */
const LIVE = `${NOW_MS}
return redis.call('ZRANGEBYSCORE', KEYS[1], '(' .. string.format('%.0f', now), '+inf')`

interface Scripts {
	sbLeaseAcquire(lease: string, owner: string, holder: string, ttlMs: number): Promise<[string, string] | null>
	sbLeaseRenew(lease: string, value: string, ttlMs: number): Promise<number>
	sbLeaseRelease(lease: string, owner: string, value: string): Promise<number>
	sbRunnersHeartbeat(runners: string, runner: string, ttlMs: number): Promise<string[]>
	sbRunnersLive(runners: string): Promise<string[]>
}
type ScriptPipeline = { [K in keyof Scripts]: (...args: Parameters<Scripts[K]>) => ScriptPipeline } & ChainableCommander

export const leaseKeys = (prefix: string, partition: number) => {
	const stream = prefix + partitionStream(partition)
	return { lease: `${stream}:lease`, owner: `${stream}:owner` }
}
const runnersKey = (prefix: string) => `${prefix}runners`
const changesChannel = (prefix: string) => `${prefix}runners:changes`

const leaseValue = (lease: Lease) => `${lease.holder} ${lease.fence}`

function parseLease(partition: number, value: string | null): Lease | null {
	if (!value) return null
	const at = value.lastIndexOf(' ')
	return { partition, holder: value.slice(0, at), fence: Number(value.slice(at + 1)) }
}

export interface RedisLeaseStoreOptions {
	/** Duplicated: the store's commands never queue behind the bus's traffic on a shared connection. */
	redis: RedisClient
	prefix: string
	partitions: number
	/** A command without an answer after this long fails (so a tick never hangs on a dead link). */
	commandTimeoutMs: number
	/**
	 * Acquisitions count only once this many replicas have them: a fence that a failover forgot
	 * would be handed out again, to two runners. Renewals do not wait: one lost in a failover only
	 * shortens the lease by a renewal period, which the fence covers, and a replica slow to confirm
	 * would otherwise cost runners their partitions.
	 */
	replication?: Replication
}

export function createRedisLeaseStore({ redis, prefix, partitions, commandTimeoutMs, replication }: RedisLeaseStoreOptions): LeaseStore {
	const conn = duplicateRedis(redis, { connectionName: 'switchboard:leases', commandTimeout: commandTimeoutMs, maxRetriesPerRequest: 1 })
	conn.on('error', () => {})
	conn.defineCommand('sbLeaseAcquire', { numberOfKeys: 2, lua: ACQUIRE })
	conn.defineCommand('sbLeaseRenew', { numberOfKeys: 1, lua: RENEW })
	conn.defineCommand('sbLeaseRelease', { numberOfKeys: 2, lua: RELEASE })
	conn.defineCommand('sbRunnersHeartbeat', { numberOfKeys: 1, lua: HEARTBEAT })
	conn.defineCommand('sbRunnersLive', { numberOfKeys: 1, lua: LIVE })
	const scripts = conn as unknown as Scripts
	let subscriber: RedisClient | undefined

	/** One script call per item, pipelined (one pipeline per partition's slot on a cluster). */
	const each = <T>(
		items: readonly T[],
		keyOf: (item: T) => string,
		add: (p: ScriptPipeline, item: T) => void,
		replicated?: Replication,
	): Promise<Reply[]> => pipelined(conn, items, keyOf, (p, item) => add(p as unknown as ScriptPipeline, item), replicated)

	return {
		async acquire(parts, holder, ttlMs) {
			if (!parts.length) return []
			const replies = await each(
				parts,
				(partition) => leaseKeys(prefix, partition).lease,
				(p, partition) => {
					const keys = leaseKeys(prefix, partition)
					p.sbLeaseAcquire(keys.lease, keys.owner, holder, ttlMs)
				},
				replication,
			)
			// A failed attempt may still have taken the lease; unrenewed, it expires after one TTL.
			return replies.map(([err, reply], i) => {
				if (err || !reply) return null
				const [fence, previous] = reply as [string, string]
				return { partition: parts[i]!, holder, fence: Number(fence), expiredHolder: previous || null }
			})
		},
		async renew(leases, ttlMs) {
			if (!leases.length) return []
			const replies = await each(
				leases,
				(lease) => leaseKeys(prefix, lease.partition).lease,
				(p, lease) => p.sbLeaseRenew(leaseKeys(prefix, lease.partition).lease, leaseValue(lease), ttlMs),
			)
			return replies.map(([err, reply]) => err ?? reply === 1)
		},
		async release(lease) {
			const keys = leaseKeys(prefix, lease.partition)
			return (await scripts.sbLeaseRelease(keys.lease, keys.owner, leaseValue(lease))) === 1
		},
		async heartbeat(runner, ttlMs) {
			return (await scripts.sbRunnersHeartbeat(runnersKey(prefix), runner, ttlMs)).map(String).sort()
		},
		async leave(runner) {
			await conn.zrem(runnersKey(prefix), runner)
		},
		async fleet() {
			const keys = [runnersKey(prefix), ...Array.from({ length: partitions }, (_, partition) => leaseKeys(prefix, partition).lease)]
			const [live, ...leases] = await each(
				keys,
				(k) => k,
				(p, k) => (k === keys[0] ? p.sbRunnersLive(k) : p.get(k)),
			)
			for (const [err] of [live!, ...leases]) if (err) throw err
			return {
				runners: (live![1] as string[]).map(String).sort(),
				partitions: leases.map(([, value], partition) => parseLease(partition, value as string | null)),
			}
		},
		async announce(runner) {
			await conn.publish(changesChannel(prefix), runner)
		},
		async onAnnouncement(listener) {
			subscriber ??= duplicateRedis(redis, { connectionName: 'switchboard:leases:changes' })
			subscriber.on('error', () => {})
			subscriber.on('message', (_channel: string, message: string) => listener(message))
			await subscriber.subscribe(changesChannel(prefix))
		},
		async close() {
			subscriber?.disconnect()
			conn.disconnect()
		},
	}
}
