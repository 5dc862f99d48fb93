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

export interface Periodic {
	/** Runs the next round now (or right after the one in hand), not after the interval. */
	wake(): void
	/** No round starts after this; resolves once the round in hand has ended. */
	stop(): Promise<void>
}

/**
 * Runs `round` `everyMs` after the previous round ended (the first `everyMs` after the start, or
 * at once with `immediately`), until stopped. A round that throws is passed to `onError` and the
 * next one comes on time. `round` is told whether a stop was asked, so that a long round can end
 * early. The timer does not keep the process alive.
 */
export function startPeriodic(
	round: (stopping: () => boolean) => Promise<void>,
	{ everyMs, immediately = false, onError }: { everyMs: number; immediately?: boolean; onError: (err: unknown) => void },
): Periodic {
	let stopped = false
	let woken = false
	let wakeUp: (() => void) | undefined
	const stopping = () => stopped
	const loop = (async () => {
		if (!immediately) await pause()
		while (!stopped) {
			woken = false
			await round(stopping).catch(onError)
			if (!stopped && !woken) await pause()
		}
	})()
	function pause() {
		return new Promise<void>((resolve) => {
			const timer = setTimeout(resolve, everyMs)
			timer.unref()
			wakeUp = () => {
				clearTimeout(timer)
				resolve()
			}
		}).finally(() => (wakeUp = undefined))
	}
	return {
		wake() {
			woken = true
			wakeUp?.()
		},
		async stop() {
			stopped = true
			wakeUp?.()
			await loop
		},
	}
}
