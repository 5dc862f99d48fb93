import type { Logger } from '../logger'

/**
 * Work that outlives the request that started it (mail after a 202). Failures are logged, never
 * thrown at the client; shutdown drains what is still running before the pools close.
 */
export interface BackgroundTasks {
	run(name: string, task: () => Promise<unknown>): void
	/** Resolves once everything started so far has settled. */
	drain(): Promise<void>
}

export function createBackgroundTasks(logger: Logger): BackgroundTasks {
	const running = new Set<Promise<unknown>>()
	return {
		run(name, task) {
			const promise = Promise.resolve()
				.then(task)
				.catch((err) => logger.error({ err, task: name }, 'background task failed'))
				.finally(() => running.delete(promise))
			running.add(promise)
		},
		async drain() {
			while (running.size) await Promise.allSettled([...running])
		},
	}
}
