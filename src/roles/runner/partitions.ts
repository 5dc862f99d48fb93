import type { Bus, GroupConsumer } from '../../bus'
import { partitionStream, queryStream, RUNNER_GROUP } from '../../core/streams'
import type { RunnerStore } from '../../db/runner-store'
import { numberRanges } from '../../lib/text'
import type { Logger } from '../../logger'
import type { CommandExecutor } from './commands'
import { PartitionLost } from './errors'
import type { OwnershipHandlers, PartitionOwnership } from './ownership'
import type { RunnerPublisher } from './publisher'
import type { SessionRegistry } from './sessions'

export interface PartitionsDeps {
	bus: Bus
	ownership: PartitionOwnership
	sessions: SessionRegistry
	executor: CommandExecutor
	publisher: Pick<RunnerPublisher, 'disconnected'>
	store: Pick<RunnerStore, 'sessionsToRun'>
	runnerId: string
	partitionOf(sessionId: string): number
	events: { claimIdleMs: number; maxDeliveries: number }
	logger: Logger
}

const CLOSE_REASONS = {
	lost: ['lease_lost', 'this runner lost the partition lease; another runner takes the session over'],
	stopping: ['runner_shutdown', 'the runner stopped; another runner (or this one, restarted) resumes the session'],
	handover: ['partition_released', 'another runner takes this session over'],
} as const

/**
 * The command partitions this runner owns: one group consumer each, so handing one over never
 * waits for another's commands. Claiming a partition starts its running sessions and then reads
 * its commands (a dead owner's pending ones first); releasing one stops reading it and closes its
 * sessions without logging them out.
 */
export function createPartitions(deps: PartitionsDeps) {
	const { bus, ownership, sessions, executor, publisher, store, runnerId, partitionOf, logger } = deps
	const owned = new Set<number>()
	const consumers = new Map<number, Promise<GroupConsumer>>()
	/** Partitions whose consumer is still finishing its batch: claimed again, they wait for it. */
	const draining = new Map<number, Promise<void>>()
	let stopping = false

	const holds = (partition: number) => owned.has(partition) && ownership.holds(partition)

	/**
	 * Reads one partition's commands, and its queries with a consumer of their own (so an answer
	 * never waits behind a command); pending entries (a dead owner's included) come first.
	 */
	function consume(partition: number): Promise<GroupConsumer> {
		const reading = (stream: string) =>
			bus.consume({
				group: RUNNER_GROUP,
				streams: [stream],
				consumer: runnerId,
				takeOver: true,
				claimIdleMs: deps.events.claimIdleMs,
				maxDeliveries: deps.events.maxDeliveries,
				isTransient: (err) => err instanceof PartitionLost,
				handle: executor.handle,
			})
		const starting = Promise.allSettled([reading(partitionStream(partition)), reading(queryStream(partition))]).then(async (started) => {
			const running = started.flatMap((s) => (s.status === 'fulfilled' ? [s.value] : []))
			const failed = started.find((s) => s.status === 'rejected')
			const both: GroupConsumer = { name: runnerId, stop: async () => void (await Promise.all(running.map((c) => c.stop()))) }
			if (!failed) return both
			await both.stop()
			throw failed.reason
		})
		consumers.set(partition, starting)
		return starting
	}

	/** Stops reading `parts`; resolves once the batches in hand are done and acknowledged. */
	async function stopConsuming(parts: number[]) {
		await Promise.all(
			parts.map(async (p) => {
				const consumer = consumers.get(p)
				if (!consumer) return await draining.get(p)
				consumers.delete(p)
				const stopped = consumer.then(
					(c) => c.stop(),
					() => {},
				)
				draining.set(p, stopped)
				await stopped.finally(() => draining.get(p) === stopped && draining.delete(p))
			}),
		)
	}

	/**
	 * Starts every session of `parts` that should run: a paired one logs in again without a QR. In
	 * a partition `takenOver` from a runner that died, a session still reading `connected` is first
	 * said to be `reconnecting`: its runner had no time to say so.
	 */
	async function resume(parts: number[], takenOver: ReadonlySet<number>) {
		const wanted = new Set(parts)
		let resumed = 0
		for (const row of await store.sessionsToRun()) {
			const partition = partitionOf(row.id)
			if (!wanted.has(partition) || !holds(partition) || sessions.isLive(row.id)) continue
			// Clients hear of it before this runner logs the session in again.
			if (takenOver.has(partition) && row.status === 'connected')
				await publisher.disconnected(
					{ tenantId: row.tenantId, sessionId: row.id },
					{
						status: 'reconnecting',
						reason: 'runner_lost',
						message: 'the runner holding the session stopped answering; another runner takes it over',
					},
				)
			sessions.open(row.id, row.tenantId, row.jid ? undefined : row.phoneNumber?.replace(/\D/g, '') || undefined)
			resumed++
		}
		if (resumed) logger.info({ resumed }, 'resumed running sessions')
	}

	const handlers: OwnershipHandlers = {
		async claim(parts, { takenOver }) {
			if (stopping) throw new Error('the runner is stopping')
			for (const p of parts) owned.add(p)
			// Sessions first, so a send taken over from a dead owner finds its session coming up.
			await resume(parts, new Set(takenOver))
			await Promise.all(
				parts.map(async (p) => {
					// Two consumers under this runner's name would take each other's entries in hand.
					await draining.get(p)
					if (owned.has(p) && !consumers.has(p)) await consume(p)
				}),
			)
			logger.info({ partitions: numberRanges(parts) }, 'claimed command partitions')
		},
		async release(parts, { lost, taken = false }) {
			for (const p of parts) owned.delete(p)
			sessions.statusChanged()
			const gone = new Set(parts)
			const [reason, message] = CLOSE_REASONS[lost ? 'lost' : stopping ? 'stopping' : 'handover']
			// A lease another runner may hold already: its "connected" must not be overwritten by this one's goodbye.
			const close = () => sessions.closeWhere((r) => gone.has(r.partition), { reason, message, silent: taken })
			// Handing over, the commands in hand finish on the live sockets; losing the lease, the
			// sockets go first: the next owner may be connecting soon.
			if (lost) {
				await close()
				await stopConsuming(parts)
			} else {
				await stopConsuming(parts)
				await close()
			}
			logger.info({ partitions: numberRanges(parts), lost }, 'released command partitions')
		},
	}

	return {
		holds,
		handlers,
		owned: () => [...owned].sort((a, b) => a - b),
		/** Hands every partition over, then closes whatever still runs. */
		async stop() {
			stopping = true
			await ownership.stop()
			// Sessions of no partition (none, unless a release failed) must not outlive the runner either.
			await stopConsuming([...consumers.keys()])
			const [reason, message] = CLOSE_REASONS.stopping
			await sessions.closeWhere(() => true, { reason, message })
		},
	}
}
