/**
 * Something others wait for, such as a connection coming up: whoever may have changed it calls
 * `changed()`, and each waiter checks its own condition again.
 */
export class Condition {
	private readonly waiters = new Set<() => void>()

	changed(): void {
		for (const wake of [...this.waiters]) wake()
	}

	/** Resolves once `done()` holds, or after `timeoutMs` whether it holds or not. */
	until(done: () => boolean, timeoutMs: number): Promise<void> {
		if (done()) return Promise.resolve()
		return new Promise((resolve) => {
			const finish = () => {
				clearTimeout(timer)
				this.waiters.delete(wake)
				resolve()
			}
			const wake = () => {
				if (done()) finish()
			}
			const timer = setTimeout(finish, timeoutMs)
			this.waiters.add(wake)
		})
	}
}
