/**
 * The command's partition is no longer (surely) this runner's: the command is left pending for the
 * next owner, which takes it over in order. Transient for the bus, so it never dead-letters.
 */
export class PartitionLost extends Error {
	override name = 'PartitionLost'
	constructor(partition: number) {
		super(`partition ${partition} is no longer owned by this runner`)
	}
}

/** A command this runner refuses with a reason (`session.command.failed`), rather than retries. */
export class CommandRefused extends Error {
	override name = 'CommandRefused'
	constructor(
		readonly code: string,
		message: string,
	) {
		super(message)
	}
}
