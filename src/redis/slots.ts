/// <reference path="./cluster-key-slot.d.ts" />
import calculateSlot from 'cluster-key-slot'
import type { ChainableCommander } from 'ioredis'
import { isCluster, type RedisClient } from '../lib/redis-client'

/**
 * The part of a key that Redis Cluster hashes into a slot: what the first `{…}` holds when that is
 * not empty, else the whole key. Keys with the same tag share a slot, so a MULTI, a Lua script or
 * a pipeline may use them together.
 */
export function hashTag(key: string): string {
	const open = key.indexOf('{')
	if (open < 0) return key
	const close = key.indexOf('}', open + 1)
	return close > open + 1 ? key.slice(open + 1, close) : key
}

/**
 * A key named after `key` that lands in `key`'s slot: `key` + suffix when `key` has a hash tag of
 * its own, else `{key}` + suffix (whose tag is `key` itself, hashed as Redis hashes `key`).
 */
export function beside(key: string, suffix: string): string {
	return hashTag(key) === key ? `{${key}}${suffix}` : key + suffix
}

/** `WAIT replicas timeout` after writes: they are acknowledged only once that many replicas have them. */
export interface Replication {
	replicas: number
	timeoutMs: number
}

/** Writes that reached fewer replicas than asked within the timeout: they may not survive a failover. */
export class NotReplicatedError extends Error {
	override name = 'NotReplicatedError'
	constructor(
		readonly acknowledged: number,
		readonly wanted: number,
	) {
		super(`writes reached ${acknowledged} of ${wanted} replicas in time`)
	}
}

export type Reply = [error: Error | null, value: unknown]

/** Which pipeline an item's key goes in: one for all on a single Redis, one per node on a cluster. */
function pipelineOf(redis: RedisClient, key: string): string {
	if (!isCluster(redis)) return ''
	// The nodes serving the key's slot as ioredis knows them now; before it knows the slots, the tag.
	return redis.slots[calculateSlot(key)]?.join(',') ?? hashTag(key)
}

/**
 * Runs commands in pipelines and answers their replies in the order of `items`. On a single Redis
 * that is one pipeline; on a cluster one per node, since a pipeline runs on one node and a
 * partition's keys live wherever its slot is. With `replication`, each pipeline ends in WAIT on
 * the connection that made its writes, and its commands fail with NotReplicatedError when too few
 * replicas confirmed them.
 */
export async function pipelined<T>(
	redis: RedisClient,
	items: readonly T[],
	keyOf: (item: T) => string,
	add: (pipeline: ChainableCommander, item: T) => void,
	replication?: Replication,
): Promise<Reply[]> {
	const groups = Map.groupBy(items.keys(), (i) => pipelineOf(redis, keyOf(items[i]!)))
	const replies: Reply[] = new Array(items.length)
	const wait = replication && replication.replicas > 0 ? replication : null
	await Promise.all(
		[...groups.values()].map(async (indexes) => {
			const p = redis.pipeline()
			for (const i of indexes) add(p, items[i]!)
			if (wait) p.call('WAIT', wait.replicas, wait.timeoutMs)
			const res = ((await p.exec()) ?? []) as Reply[]
			const waited = wait ? Number(res.at(-1)?.[1] ?? 0) : 0
			const short = wait && waited < wait.replicas ? new NotReplicatedError(waited, wait.replicas) : null
			indexes.forEach((index, j) => {
				const reply = res[j] ?? [new Error('no reply'), null]
				replies[index] = short && !reply[0] ? [short, reply[1]] : reply
			})
		}),
	)
	return replies
}
