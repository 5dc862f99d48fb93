/**
 * Polls `check` every 20 ms until it gives a value (anything but undefined, null or false) and
 * resolves with that value; rejects after `timeoutMs` naming `what`.
 *
 * Only for state that another thread or process writes and that no event announces: a row the
 * consumer stored, a key Redis expires, a lock another connection waits for. Where an event can
 * be awaited (the event log's `waitFor`, a socket's next message, a promise the code resolves),
 * await it instead. The timeout only turns a hang into a message saying what never happened.
 */
export async function until<T>(
	check: () => T | undefined | null | false | Promise<T | undefined | null | false>,
	what: string,
	timeoutMs = 20_000,
): Promise<T> {
	const deadline = performance.now() + timeoutMs
	for (;;) {
		const value = await check()
		if (value !== undefined && value !== null && value !== false) return value
		if (performance.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`)
		await Bun.sleep(20)
	}
}
