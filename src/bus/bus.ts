import type { AnyEnvelope } from '../core/catalogue'

/**
 * The event bus: append-only streams of envelopes with consumer groups. Two
 * implementations with the same semantics: Redis Streams (`redis-bus.ts`) and in-process
 * (`memory-bus.ts`, embedded mode). Stream names are the logical ones of `streams.ts`; the Redis
 * implementation adds the key prefix.
 *
 * Delivery is at least once. A handler that resolves acknowledges its whole batch; one that
 * throws gets the batch's entries again one by one, and an entry that still fails stays pending,
 * is claimed again after `claimIdleMs` (by any consumer of the group, itself included) and after
 * `maxDeliveries` attempts moves to `<stream>:dead` with its last error. An entry that does not
 * parse against the catalogue goes to the dead stream at once and never reaches a handler.
 */
export interface Bus {
	readonly kind: 'redis' | 'memory'
	/** COMMAND_PARTITIONS: how `publish` routes commands (`streamFor`). */
	readonly partitions: number

	/**
	 * Validates and appends envelopes, each to its stream (`streamFor`), in order, in one round
	 * trip; resolves with their positions. Throws InvalidEnvelopeError before writing anything if
	 * one is invalid.
	 */
	publish(envelopes: readonly AnyEnvelope[]): Promise<Published[]>

	/**
	 * Resolves true once nothing the bus holds would be lost with this process, or false after
	 * `maxMs`: at once for Redis; for the in-process bus, once every group has read and acknowledged
	 * every entry (commands executed, events stored). A graceful stop waits for it.
	 */
	settle(maxMs: number): Promise<boolean>

	/**
	 * Joins (creating if needed) a consumer group on `streams` and runs `handle` on batches until
	 * `stop()`. Resolves once the groups exist, so entries published afterwards are seen.
	 */
	consume(options: ConsumeOptions): Promise<GroupConsumer>

	/** Entries after position `after` (exclusive; `'0'` = from the start), oldest first. Never blocks. */
	read(stream: string, options: { after: string; count?: number }): Promise<StreamEntry[]>

	/**
	 * Follows a stream without a group: yields batches of entries after `after` (exclusive;
	 * `'$'` = only what is appended from now on, the default) as they are appended, in order,
	 * until `signal` aborts or the iterator is returned. Each tail holds its own blocking
	 * connection. Entries that do not parse are skipped.
	 */
	tail(stream: string, options?: TailOptions): AsyncIterableIterator<StreamEntry[]>

	/** Length, first/last positions (null when empty) and from where it holds everything: lets a replay tell whether `since` was trimmed away. */
	info(stream: string): Promise<StreamInfo>

	/** The dead-letter entries of `stream`, oldest first. */
	deadLetters(stream: string, options?: { count?: number }): Promise<DeadLetter[]>

	/** Entries delivered to the group and not yet acknowledged. */
	pendingCount(stream: string, group: string): Promise<number>

	/**
	 * Where a group stands, read atomically: every entry up to `lastDeliveredId` that is not pending
	 * was acknowledged (handled, or dead-lettered). Lets a reader of the group's output (the
	 * WebSocket snapshot reads what the consumer wrote) tell which entries may not be in it yet.
	 * Null when the stream or the group does not exist.
	 */
	groupProgress(stream: string, group: string, options?: { count?: number }): Promise<GroupProgress | null>

	/**
	 * The side channel of request/reply (`requests.ts`): delivers `payload` to whoever listens on
	 * `channel` right now, in any process, at most once. Nothing is stored: a message sent while
	 * nobody listens is gone (Redis PUBLISH; in process, a direct call).
	 */
	notify(channel: string, payload: string): Promise<void>

	/** Hears what is `notify`d on `channel` until the returned function is called. Resolves once listening. */
	listen(channel: string, onMessage: (payload: string) => void): Promise<() => Promise<void>>

	/** Stops every consumer and tail of this bus and releases its connections. */
	close(): Promise<void>
}

export interface Published {
	stream: string
	/** Position in the stream (`<ms>-<seq>`): what WebSocket clients pass as `since`. */
	id: string
}

export interface StreamEntry<E extends AnyEnvelope = AnyEnvelope> {
	stream: string
	id: string
	envelope: E
}

export interface Delivery<E extends AnyEnvelope = AnyEnvelope> extends StreamEntry<E> {
	/** 1 on first delivery; more after a failure or a consumer's death. */
	deliveries: number
}

export interface ConsumeOptions {
	group: string
	streams: readonly string[]
	/** Unique within the group; defaults to a generated one. */
	consumer?: string
	handle(batch: Delivery[]): Promise<void>
	/** Entries per read (default 64). */
	batchSize?: number
	/** How long one blocking read waits before looping (default 5 000 ms); `stop()` interrupts it. */
	blockMs?: number
	/** Pending entries idle this long are claimed (default 30 000 ms). */
	claimIdleMs?: number
	/** Attempts before an entry is dead-lettered (default 5). */
	maxDeliveries?: number
	/** Where a group created now starts: `'0'` (default, the whole retained stream) or `'$'` (new entries). */
	startId?: '0' | '$'
	/**
	 * This consumer succeeds the group's previous ones, which are gone (a command partition changed
	 * owner): its first claim takes every pending entry whatever its idle time, before any new
	 * entry is read, and the consumers left holding nothing are forgotten. Only for groups that
	 * have one live consumer at a time.
	 */
	takeOver?: boolean
	/** Called when an entry moves to the dead stream (after it was written there). */
	onDeadLetter?(dead: DeadLetter): void
	/**
	 * Failures that say nothing about the entry (the database is down, a deadlock): they never
	 * count towards dead-lettering, and the consumer backs off before reading on.
	 */
	isTransient?(err: unknown): boolean
}

export interface GroupConsumer {
	readonly name: string
	/** Stops reading, lets the batch in hand finish and be acknowledged, then resolves. */
	stop(): Promise<void>
}

export interface TailOptions {
	after?: string
	count?: number
	signal?: AbortSignal
	/** Longest single blocking wait (default 5 000 ms); aborting interrupts it. */
	blockMs?: number
}

export interface GroupProgress {
	lastDeliveredId: string
	/** Entries delivered and not yet acknowledged. */
	pendingCount: number
	/** The oldest pending positions, at most `count` (default 100) of them; fewer than `pendingCount` when cut. */
	pending: string[]
}

export interface StreamInfo {
	length: number
	firstId: string | null
	lastId: string | null
	/**
	 * The position from which the stream holds every entry ever appended: `0-0` while none has left
	 * it; once entries have (trimmed, or deleted, or where the server cannot tell: Redis before 7.0),
	 * its first entry, or null when none is left to vouch for anything. An in-process stream that
	 * started after an earlier process' events left with it holds everything from its own start only.
	 */
	heldFrom: string | null
}

export interface DeadLetter {
	/** Position in the dead stream. */
	id: string
	stream: string
	/** Position the entry had in `stream`. */
	sourceId: string
	group: string
	error: string
	deliveries: number
	/** The entry's envelope field as it was (it may not parse). */
	payload: string | null
	failedAt: string
}

export const BUS_DEFAULTS = {
	batchSize: 64,
	blockMs: 5_000,
	claimIdleMs: 30_000,
	maxDeliveries: 5,
	/** Dead-letter streams keep about this many entries. */
	deadLetterMaxLen: 10_000,
} as const

/** Compares stream positions (`<ms>-<seq>`). */
export function compareIds(a: string, b: string): number {
	const [am = 0, as = 0] = a.split('-').map(Number)
	const [bm = 0, bs = 0] = b.split('-').map(Number)
	return am - bm || as - bs
}
