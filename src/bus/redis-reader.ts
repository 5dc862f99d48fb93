import { duplicateRedis, isCluster, type RedisClient } from '../lib/redis-client'
import type { GroupReader, RawEntry } from './group-consumer'
import { ENVELOPE_FIELD, fieldValue, streamPairs } from './redis-replies'

/**
 * A blocking reader of the Redis bus on a connection of its own: a consumer's XREADGROUP, or a
 * tail's XREAD. On a cluster the connection is a cluster client of its own, whose read goes to the
 * node of the streams' slot.
 */
export class RedisReader implements GroupReader {
	readonly conn: RedisClient
	private readonly redis: RedisClient
	private readonly prefix: string
	private readonly readers: Set<RedisReader>
	private clientId: number | null = null
	private interrupted = false

	constructor({ redis, name, prefix, readers }: { redis: RedisClient; name: string; prefix: string; readers: Set<RedisReader> }) {
		this.redis = redis
		this.prefix = prefix
		this.readers = readers
		this.conn = duplicateRedis(redis, { connectionName: `switchboard:reader:${name}`.slice(0, 100) })
		this.conn.on('error', () => {})
		// CLIENT UNBLOCK needs the server-side id of this connection, which changes on reconnect.
		// Forgotten when the connection drops, not when it is ready: the first 'ready' can come
		// after an id asked for through the offline queue, and would leave a blocked read that
		// nothing can interrupt.
		this.conn.on('close', () => (this.clientId = null))
		readers.add(this)
	}

	/** Asked on the connection itself right before blocking on it; asked later, the answer would queue behind the block. */
	private async knowId() {
		if (this.clientId === null && !isCluster(this.conn)) this.clientId = Number(await this.conn.client('ID'))
	}

	async readNew(group: string, consumer: string, streams: readonly string[], count: number, blockMs: number): Promise<RawEntry[]> {
		await this.knowId()
		if (this.interrupted) return []
		const keys = streams.map((s) => this.prefix + s)
		const reply = await this.conn.call(
			'XREADGROUP',
			'GROUP',
			group,
			consumer,
			'COUNT',
			count,
			'BLOCK',
			blockMs,
			'STREAMS',
			...keys,
			...keys.map(() => '>'),
		)
		return this.rawEntries(reply, 1)
	}

	async readAfter(stream: string, after: string, count: number, blockMs: number): Promise<RawEntry[]> {
		await this.knowId()
		if (this.interrupted) return []
		const reply = await this.conn.call('XREAD', 'COUNT', count, 'BLOCK', blockMs, 'STREAMS', this.prefix + stream, after)
		return this.rawEntries(reply, 0)
	}

	interrupt() {
		this.interrupted = true
		// On a cluster the blocked read sits on whichever node holds the stream's slot, and an id
		// asked of the cluster client could be another node's: closing the reader's connections ends
		// the read instead (it is only interrupted to stop).
		if (isCluster(this.conn)) this.conn.disconnect()
		else if (this.clientId !== null) this.redis.call('CLIENT', 'UNBLOCK', this.clientId).catch(() => {})
	}

	async close() {
		this.readers.delete(this)
		this.conn.disconnect()
	}

	private rawEntries(reply: unknown, deliveries: number): RawEntry[] {
		const out: RawEntry[] = []
		for (const [k, list] of streamPairs(reply)) {
			const stream = k.slice(this.prefix.length)
			for (const [id, fields] of list) out.push({ stream, id, payload: fieldValue(fields, ENVELOPE_FIELD), deliveries })
		}
		return out
	}
}
