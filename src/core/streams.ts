import type { AnyEnvelope } from './catalogue'
import { isCommandType, isQueryType } from './catalogue'

/**
 * Stream and consumer-group names, before the Redis key prefix. Commands are partitioned by
 * session: `session-commands:{p}` with p = hash(sessionId) % P, the braces being the Redis Cluster
 * hash tag that a partition's lease and group keys share. P is fixed per deployment
 * (COMMAND_PARTITIONS); changing it strands pending commands in the old partitions.
 */
export const DOMAIN_EVENTS = 'domain-events'
export const SESSION_COMMANDS = 'session-commands'
/**
 * Queries (core/catalogue/queries.ts) are partitioned like commands, on a stream of their own
 * beside them (`session-queries:{p}`, the same hash tag): the partition's owner reads both, and an
 * answer someone waits for never queues behind a send that waits for its connection.
 */
export const SESSION_QUERIES = 'session-queries'

/** The group that persists `domain-events` into Postgres; other readers (webhooks, …) take their own. */
export const CONSUMER_GROUP = 'event-consumer'

/** The group of the webhooks role: it records a delivery per endpoint before acknowledging an event. */
export const WEBHOOKS_GROUP = 'webhooks'

/** The group of runners on each `session-commands:{p}`; the partition's owner reads it. */
export const RUNNER_GROUP = 'session-runner'

/** FNV-1a (32 bit) over the UTF-16 code units: stable across processes and languages that copy it. */
export function commandPartition(sessionId: string, partitions: number): number {
	let hash = 0x811c9dc5
	for (let i = 0; i < sessionId.length; i++) {
		hash ^= sessionId.charCodeAt(i)
		hash = Math.imul(hash, 0x01000193)
	}
	return (hash >>> 0) % partitions
}

export const partitionStream = (partition: number) => `${SESSION_COMMANDS}:{${partition}}`

export const queryStream = (partition: number) => `${SESSION_QUERIES}:{${partition}}`

export const commandStream = (sessionId: string, partitions: number) => partitionStream(commandPartition(sessionId, partitions))

/** Every command partition, e.g. for a runner that owns them all. */
export const commandStreams = (partitions: number) => Array.from({ length: partitions }, (_, p) => partitionStream(p))

/** Every query partition, beside the command partitions. */
export const queryStreams = (partitions: number) => Array.from({ length: partitions }, (_, p) => queryStream(p))

export const DEAD_LETTER_SUFFIX = ':dead'

/** Where entries that failed too often (or never parsed) end up, with their error. */
export const deadLetterStream = (stream: string) => `${stream}${DEAD_LETTER_SUFFIX}`

/** The stream an envelope belongs on. */
export const streamFor = (envelope: Pick<AnyEnvelope, 'type' | 'sessionId'>, partitions: number) =>
	isQueryType(envelope.type)
		? queryStream(commandPartition(envelope.sessionId, partitions))
		: isCommandType(envelope.type)
			? commandStream(envelope.sessionId, partitions)
			: DOMAIN_EVENTS
