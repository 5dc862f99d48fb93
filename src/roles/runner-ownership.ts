/**
 * Which `session-commands:{p}` partitions this runner owns (DESIGN §3) — the one piece that issue 9
 * replaces with leases in Redis. The runner does not ask "do I own p?" anywhere else: it acts on
 * `claim` (consume those partitions, resume their running sessions) and `release` (close their
 * sockets without logging out), and stamps auth writes with `fence(p)`.
 */
export interface PartitionOwnership {
	/**
	 * Begins owning: calls `claim` with the partitions held now and later with those gained, and
	 * `release` with those lost. Resolves once the first `claim` returned.
	 */
	start(handlers: OwnershipHandlers): Promise<void>
	/** Fencing token for auth-state writes of sessions in `partition` (0 = unfenced). */
	fence(partition: number): number
	/** Stops owning (after the runner released everything itself). */
	stop(): Promise<void>
}

export interface OwnershipHandlers {
	claim(partitions: number[]): Promise<void>
	release(partitions: number[]): Promise<void>
}

/** One runner for the whole deployment: it owns every partition, unfenced. */
export function ownAllPartitions(partitions: number): PartitionOwnership {
	return {
		async start({ claim }) {
			await claim(Array.from({ length: partitions }, (_, p) => p))
		},
		fence: () => 0,
		async stop() {},
	}
}
