/**
 * Which `session-commands:{p}` partitions this runner owns. Two implementations: every
 * partition, unfenced (`ownAllPartitions`, embedded mode: one process) and leases in Redis
 * (`lease-ownership.ts`, any number of runners). The runner acts on `claim` (consume those
 * partitions, resume their running sessions) and `release` (close their sockets without logging
 * out), stamps auth writes with `fence(p)`, and asks `holds(p)` before acting on a command.
 */
export interface PartitionOwnership {
	/**
	 * Begins owning: calls `claim` with the partitions held now and later with those gained, and
	 * `release` with those lost. Resolves once the first `claim` returned.
	 */
	start(handlers: OwnershipHandlers): Promise<void>
	/** Fencing token for auth-state writes of sessions in `partition` (0 = unfenced). */
	fence(partition: number): number
	/**
	 * True while `partition` is surely still this runner's: false as soon as its lease might have
	 * lapsed, even before `release` was called (a paused process must not act on old beliefs).
	 */
	holds(partition: number): boolean
	/** Hands every partition over (`release`, not lost) and stops owning. */
	stop(): Promise<void>
	/** Live counters (updated in place) for metrics and logs. */
	readonly stats: OwnershipStats
}

export interface OwnershipHandlers {
	/**
	 * `takenOver`: those of `partitions` whose last holder stopped without letting go (its lease ran
	 * out, or the one process before this one ended): its sessions may still read connected.
	 */
	claim(partitions: number[], how: { takenOver: readonly number[] }): Promise<void>
	/**
	 * `lost: false` is a handover: finish the commands in hand, then close the sockets. `lost: true`
	 * means the lease is gone or about to be: close the sockets first, leave every command not yet
	 * done to the next owner. `taken`: the lease may already be another runner's (renewal found it
	 * gone, or this process woke up past its expiry); the sessions then close without a word, since
	 * their status is the new owner's to tell.
	 */
	release(partitions: number[], how: { lost: boolean; taken?: boolean }): Promise<void>
}

/**
 * What a runner's ownership did since it started: plain numbers, counters only ever grow. The
 * metrics module reads this object at scrape time (`watchOwnership`).
 */
export interface OwnershipStats {
	runnerId: string
	/** Partitions held now (being claimed, owned, or being handed over), and how many. */
	partitions: number[]
	owned: number
	/** Runners with a live heartbeat at the last tick, this one included. */
	liveRunners: number
	/** Partitions this runner aims to hold: P / live runners, the remainder to the first in id order. */
	fairShare: number
	/** Lease renewals that succeeded (one per lease per tick). */
	renewals: number
	/** Lease renewals that failed: Redis did not answer, or the lease was gone or taken. */
	renewalFailures: number
	/** Leases acquired. */
	acquired: number
	/** Of those, leases whose previous holder let them expire instead of handing over (a dead runner). */
	takeovers: number
	/** Partitions given up, for any of the three reasons below. */
	releases: number
	/** Handed over gracefully (rebalancing, shutdown). */
	handedOver: number
	/** Found gone or taken at renewal. */
	lost: number
	/** Dropped because renewals kept failing until the safety margin. */
	selfFenced: number
}

export const emptyOwnershipStats = (runnerId: string): OwnershipStats => ({
	runnerId,
	partitions: [],
	owned: 0,
	liveRunners: 0,
	fairShare: 0,
	renewals: 0,
	renewalFailures: 0,
	acquired: 0,
	takeovers: 0,
	releases: 0,
	handedOver: 0,
	lost: 0,
	selfFenced: 0,
})

/** One runner for the whole deployment: it owns every partition, unfenced. */
export function ownAllPartitions(partitions: number, runnerId = 'embedded'): PartitionOwnership {
	const all = Array.from({ length: partitions }, (_, p) => p)
	const stats: OwnershipStats = { ...emptyOwnershipStats(runnerId), liveRunners: 1, fairShare: partitions }
	let handlers: OwnershipHandlers | undefined
	return {
		async start(h) {
			handlers = h
			// The process before this one may have died with its sessions connected.
			await h.claim(all, { takenOver: all })
			Object.assign(stats, { partitions: all, owned: all.length, acquired: all.length })
		},
		fence: () => 0,
		holds: () => true,
		async stop() {
			await handlers?.release(all, { lost: false })
			Object.assign(stats, { partitions: [], owned: 0, releases: all.length, handedOver: all.length })
		},
		stats,
	}
}
