import type { Logger } from '../logger'
import { isCluster, type RedisClient } from '../lib/redis-client'
import { beside, hashTag, pipelined, type Replication } from '../redis/slots'
import {
	BUS_DEFAULTS,
	type Bus,
	type ConsumeOptions,
	type DeadLetter,
	type GroupProgress,
	type StreamEntry,
	type StreamInfo,
	type TailOptions,
} from './bus'
import { assertEnvelope, parseEnvelope, type AnyEnvelope } from '../core/catalogue'
import { consumerRegistry, deadLetterFrom, type GroupBackend, type RawEntry } from './group-consumer'
import { DEAD_LETTER_SUFFIX, deadLetterStream, streamFor } from '../core/streams'
import { createRedisChannels } from './redis-channels'
import { RedisReader } from './redis-reader'
import { ENVELOPE_FIELD, fieldsObject, fieldValue, groupFields, type RawList } from './redis-replies'

export interface RedisBusOptions {
	/** Connection for non-blocking commands; shared, so the bus never closes it. */
	redis: RedisClient
	/** Prefix of every key (REDIS_PREFIX). */
	prefix: string
	partitions: number
	logger: Logger
	/** Entries older than this are trimmed (`XADD … MINID ~`) as new ones arrive; 0 keeps them. */
	retentionMs?: number
	/** Streams are capped at about this many entries (`XTRIM … MAXLEN ~`); 0 = no cap. */
	maxLen?: number
	deadLetterMaxLen?: number
	/** Appends are acknowledged only once this many replicas have them (`WAIT`); none when absent or 0. */
	replication?: Replication
}

const ERRORS_TTL_MS = 7 * 24 * 3600 * 1000

const isError = (err: unknown, prefix: string) => err instanceof Error && err.message.startsWith(prefix)

/**
 * The Redis key of a stream. A stream's dead letters and recorded errors sit in its slot (see
 * `beside`), so dead-lettering stays one MULTI on a cluster: `{<prefix>domain-events}:dead`, and
 * for the partitions, whose names carry a hash tag already, `<prefix>session-commands:{p}:dead`.
 */
export function streamKey(prefix: string, stream: string): string {
	if (!stream.endsWith(DEAD_LETTER_SUFFIX)) return prefix + stream
	return beside(prefix + stream.slice(0, -DEAD_LETTER_SUFFIX.length), DEAD_LETTER_SUFFIX)
}

export function createRedisBus(options: RedisBusOptions): Bus {
	const { redis, prefix, partitions, logger } = options
	const retentionMs = options.retentionMs ?? 0
	const maxLen = options.maxLen ?? 0
	const deadLetterMaxLen = options.deadLetterMaxLen ?? BUS_DEFAULTS.deadLetterMaxLen
	const log = logger.child({ component: 'redis-bus' })
	const key = (stream: string) => streamKey(prefix, stream)
	const errorsKey = (stream: string, group: string) => beside(key(stream), `:errors:${group}`)
	const readers = new Set<RedisReader>()
	const openReader = (name: string) => new RedisReader({ redis, name, prefix, readers })
	const closing = new AbortController()

	function toEntries(stream: string, list: RawList): StreamEntry[] {
		const out: StreamEntry[] = []
		for (const [id, fields] of list) {
			const parsed = parseEnvelope(fieldValue(fields, ENVELOPE_FIELD))
			if (parsed.ok) out.push({ stream, id, envelope: parsed.envelope })
			else log.warn({ stream, entryId: id, error: parsed.error }, 'skipping an entry that does not parse')
		}
		return out
	}

	const toDeadLetter = (id: string, fields: readonly string[] | null): DeadLetter => deadLetterFrom(id, fieldsObject(fields))

	async function info(stream: string): Promise<StreamInfo> {
		let reply: unknown[]
		try {
			reply = (await redis.call('XINFO', 'STREAM', key(stream))) as unknown[]
		} catch (err) {
			// A stream nothing was appended to has no key.
			if (isError(err, 'ERR no such key')) return { length: 0, firstId: null, lastId: null, heldFrom: '0-0' }
			throw err
		}
		const fields = new Map<string, unknown>()
		for (let i = 0; i + 1 < reply.length; i += 2) fields.set(String(reply[i]), reply[i + 1])
		const entryId = (name: string) => ((fields.get(name) as RawList[number] | null) ?? null)?.[0] ?? null
		const length = Number(fields.get('length'))
		// Redis 7 counts every entry appended; a trim lowers the length only, an XDEL raises the max deleted id.
		const added = fields.get('entries-added')
		const maxDeleted = fields.get('max-deleted-entry-id')
		const trimmed = added === undefined || maxDeleted === undefined || Number(added) > length || maxDeleted !== '0-0'
		const firstId = entryId('first-entry')
		return { length, firstId, lastId: entryId('last-entry'), heldFrom: trimmed ? firstId : '0-0' }
	}

	const backend: GroupBackend = {
		async ensureGroup(stream, group, startId) {
			try {
				await redis.call('XGROUP', 'CREATE', key(stream), group, startId, 'MKSTREAM')
			} catch (err) {
				if (!isError(err, 'BUSYGROUP')) throw err
			}
		},
		openReader,
		async claim(stream, group, consumer, minIdleMs, count, cursor) {
			const [next, list, deleted] = (await redis.call('XAUTOCLAIM', key(stream), group, consumer, minIdleMs, cursor, 'COUNT', count)) as [
				string,
				RawList,
				string[] | undefined,
			]
			// Redis 6.2 lists deleted entries with null fields instead of in a third element.
			const live = list.filter(([, fields]) => fields !== null)
			const gone = [...(deleted ?? []), ...list.filter(([, fields]) => fields === null).map(([id]) => id)]
			if (gone.length) await redis.xack(key(stream), group, ...gone)
			if (!live.length) return { cursor: next, entries: [], deleted: gone }
			// XAUTOCLAIM counted this delivery but does not report the count: ask for it, one pipeline.
			const p = redis.pipeline()
			for (const [id] of live) p.call('XPENDING', key(stream), group, id, id, 1)
			const counts = (await p.exec()) ?? []
			const entries = live.map(([id, fields], i) => {
				const row = (counts[i]?.[1] as [string, string, number, number][] | undefined)?.[0]
				return { stream, id, payload: fieldValue(fields, ENVELOPE_FIELD), deliveries: Number(row?.[3] ?? 1) }
			})
			return { cursor: next, entries, deleted: gone }
		},
		async touch(stream, group, consumer, ids) {
			if (ids.length) await redis.call('XCLAIM', key(stream), group, consumer, 0, ...ids, 'JUSTID')
		},
		async ack(stream, group, ids, clearErrors) {
			if (!ids.length) return
			if (!clearErrors) {
				await redis.xack(key(stream), group, ...ids)
				return
			}
			const res = await redis
				.pipeline()
				.xack(key(stream), group, ...ids)
				.hdel(errorsKey(stream, group), ...ids)
				.exec()
			const failed = res?.find(([err]) => err)
			if (failed) throw failed[0]
		},
		async recordFailure(stream, group, id, error) {
			await redis.pipeline().hset(errorsKey(stream, group), id, error).pexpire(errorsKey(stream, group), ERRORS_TTL_MS).exec()
		},
		lastError: (stream, group, id) => redis.hget(errorsKey(stream, group), id),
		async deadLetter(stream, group, entry, error) {
			const failedAt = new Date().toISOString()
			const fields = [
				'stream',
				stream,
				'sourceId',
				entry.id,
				'group',
				group,
				'error',
				error,
				'deliveries',
				String(entry.deliveries),
				'failedAt',
				failedAt,
			]
			if (entry.payload !== null) fields.push('payload', entry.payload)
			const res = await redis
				.multi()
				.xadd(key(deadLetterStream(stream)), 'MAXLEN', '~', deadLetterMaxLen, '*', ...fields)
				.xack(key(stream), group, entry.id)
				.hdel(errorsKey(stream, group), entry.id)
				.exec()
			const failed = res?.find(([err]) => err)
			if (failed) throw failed[0]
			return toDeadLetter(String(res?.[0]?.[1]), fields)
		},
		async removeIdleConsumer(stream, group, consumer) {
			const pending = (await redis.call('XPENDING', key(stream), group, '-', '+', 1, consumer)) as unknown[]
			if (pending.length === 0) await redis.call('XGROUP', 'DELCONSUMER', key(stream), group, consumer)
		},
		async consumerNames(stream, group) {
			const list = (await redis.call('XINFO', 'CONSUMERS', key(stream), group)) as unknown[]
			return list.map((c) => String(groupFields(c).name))
		},
	}
	const consumers = consumerRegistry(backend, logger)
	const channels = createRedisChannels(redis, prefix)

	return {
		kind: 'redis',
		partitions,

		async publish(envelopes: readonly AnyEnvelope[]) {
			if (!envelopes.length) return []
			for (const e of envelopes) assertEnvelope(e)
			const streams = envelopes.map((e) => streamFor(e, partitions))
			// MINID is computed on this clock against ids from Redis' clock; `~` trims whole nodes only,
			// so a small skew never cuts into retention noticeably.
			const minId = retentionMs > 0 ? `${Date.now() - retentionMs}-0` : null
			const appends = envelopes.map((e, i) => ({ key: key(streams[i]!), payload: JSON.stringify(e) }))
			const trims = maxLen > 0 ? [...new Set(streams)].map((s) => ({ key: key(s), payload: null })) : []
			// One pipeline per slot on a cluster; the trims ride in their stream's pipeline, before its WAIT.
			const res = await pipelined(
				redis,
				[...appends, ...trims],
				(c) => c.key,
				(p, c) => {
					if (c.payload === null) p.xtrim(c.key, 'MAXLEN', '~', maxLen)
					else if (minId) p.xadd(c.key, 'MINID', '~', minId, '*', ENVELOPE_FIELD, c.payload)
					else p.xadd(c.key, '*', ENVELOPE_FIELD, c.payload)
				},
				options.replication,
			)
			return envelopes.map((_, i) => {
				const [err, id] = res[i]!
				if (err) throw err
				return { stream: streams[i]!, id: String(id) }
			})
		},

		async consume(options: ConsumeOptions) {
			// One blocking XREADGROUP serves all of a consumer's streams, and on a cluster it reaches one node.
			if (isCluster(redis) && new Set(options.streams.map((s) => hashTag(key(s)))).size > 1)
				throw new Error(`the streams of one consumer must share a hash tag on a Redis Cluster: ${options.streams.join(', ')}`)
			return consumers.start(options)
		},

		async read(stream, { after, count = 1_000 }) {
			const start = after === '0' || after === '0-0' ? '-' : `(${after}`
			return toEntries(stream, (await redis.xrange(key(stream), start, '+', 'COUNT', count)) as RawList)
		},

		async *tail(stream: string, options: TailOptions = {}) {
			const { count = 500, blockMs = BUS_DEFAULTS.blockMs } = options
			const signal = AbortSignal.any([closing.signal, ...(options.signal ? [options.signal] : [])])
			const reader = openReader(`tail:${stream}`)
			const onAbort = () => reader.interrupt()
			signal.addEventListener('abort', onAbort)
			try {
				let after = options.after ?? '$'
				// Pin '$' to a concrete position once: re-sending '$' on each read would skip whatever
				// arrived between two reads.
				if (after === '$') after = (await info(stream)).lastId ?? '0-0'
				let failures = 0
				while (!signal.aborted) {
					let raw: RawEntry[]
					try {
						raw = await reader.readAfter(stream, after, count, blockMs)
						failures = 0
					} catch (err) {
						if (signal.aborted) break
						log.warn({ err, stream }, 'tail read failed; retrying')
						await Bun.sleep(Math.min(100 * 2 ** ++failures, 5_000))
						continue
					}
					if (!raw.length) continue
					after = raw.at(-1)!.id
					const entries = toEntries(
						stream,
						raw.map((r) => [r.id, r.payload === null ? null : [ENVELOPE_FIELD, r.payload]]),
					)
					if (entries.length) yield entries
				}
			} finally {
				signal.removeEventListener('abort', onAbort)
				await reader.close()
			}
		},

		info,

		async deadLetters(stream, { count = 100 } = {}) {
			const list = (await redis.xrange(key(deadLetterStream(stream)), '-', '+', 'COUNT', count)) as RawList
			return list.map(([id, fields]) => toDeadLetter(id, fields))
		},

		async pendingCount(stream, group) {
			try {
				const [count] = (await redis.call('XPENDING', key(stream), group)) as [number]
				return Number(count)
			} catch (err) {
				if (isError(err, 'NOGROUP')) return 0
				throw err
			}
		},

		async groupProgress(stream, group, { count = 100 } = {}): Promise<GroupProgress | null> {
			// MULTI: the delivered position and the pending list must describe the same moment.
			const res = (await redis.multi().call('XINFO', 'GROUPS', key(stream)).call('XPENDING', key(stream), group, '-', '+', count).exec()) ?? []
			const [infoErr, groups] = res[0] ?? [new Error('no reply')]
			if (infoErr) {
				if (isError(infoErr, 'ERR no such key')) return null
				throw infoErr
			}
			const found = (groups as unknown[]).map(groupFields).find((g) => g.name === group)
			if (!found) return null
			const [pendingErr, list] = res[1] ?? [new Error('no reply')]
			if (pendingErr) throw pendingErr
			return {
				lastDeliveredId: String(found['last-delivered-id']),
				pendingCount: Number(found.pending ?? 0),
				pending: (list as [string, ...unknown[]][]).map(([id]) => String(id)),
			}
		},

		notify: (channel, payload) => channels.notify(channel, payload),
		listen: (channel, onMessage) => channels.listen(channel, onMessage),

		// Redis keeps every entry past this process.
		settle: async () => true,

		async close() {
			closing.abort()
			await consumers.stopAll()
			channels.close()
			for (const r of readers) r.interrupt()
			await Promise.all([...readers].map((r) => r.close()))
		},
	}
}
