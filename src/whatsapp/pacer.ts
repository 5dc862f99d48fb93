/**
 * Spaces out the WhatsApp sockets a process opens, for every session together: after a restart a
 * runner resumes all its sessions at once, and WhatsApp must not see them all connect in the same
 * second. Each opening waits for the one before it plus 1/rate seconds, measured from when that one
 * actually went, so a late timer never lets two through closer than the rate allows.
 */
export interface ConnectPacer {
	/** Resolves when the caller may open its socket. */
	turn(): Promise<void>
	/** How long an opening asked for now would wait for its turn, about. */
	backlogMs(): number
}

export function connectPacer(perSecond: number): ConnectPacer {
	const gapMs = 1000 / perSecond
	let previous: Promise<void> = Promise.resolve()
	let lastTurnAt = Number.NEGATIVE_INFINITY
	return {
		turn() {
			lastTurnAt = Math.max(performance.now(), lastTurnAt + gapMs)
			const mine = previous
			previous = mine.then(() => Bun.sleep(gapMs))
			return mine
		},
		backlogMs: () => Math.max(0, lastTurnAt - performance.now()),
	}
}
