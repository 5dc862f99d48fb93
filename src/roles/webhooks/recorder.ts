import type { Db } from '../../db/client'
import type { Logger } from '../../logger'
import type { EndpointStates } from './endpoint-states'
import type { WebhookMetrics } from './metrics'
import { type AttemptResult, recordAttempts } from './store'

/**
 * Outcome writes in flight at once, each taking whatever finished meanwhile. One: a write's cost is
 * mostly per statement (a statement of 64 outcomes costs PostgreSQL about a quarter of what eight
 * statements of 8 do), so lanes do better waiting for one larger write than sharing several small ones.
 */
const MAX_RECORDERS = 1

export interface RecorderDeps {
	db: Db
	/** The dispatcher's lock name: only rows it still holds are written. */
	owner: string
	disableAfterMs: number
	logger: Logger
	metrics: WebhookMetrics
	/** Told what each write saw of its endpoints. */
	endpoints: EndpointStates
}

export interface Recorder {
	/**
	 * Writes outcomes: every lane's that finished meanwhile in one statement. Resolves false when the
	 * write failed; those rows' locks then run out and they are sent again (same webhook-id).
	 */
	record(results: AttemptResult[]): Promise<boolean>
	/** Resolves once every outcome handed to `record` is written (or failed). */
	drain(): Promise<void>
}

/** The dispatcher's outcome writes: batched, `MAX_RECORDERS` statements at a time. */
export function createRecorder({ db, owner, disableAfterMs, logger, metrics, endpoints }: RecorderDeps): Recorder {
	/** Outcomes waiting to be written, each with who waits for it. */
	const finished: { result: AttemptResult; written: (ok: boolean) => void }[] = []
	/** Writes in progress. */
	const recorders = new Set<Promise<void>>()

	function record(results: AttemptResult[]): Promise<boolean> {
		if (!results.length) return Promise.resolve(true)
		const written = new Promise<boolean>((resolve) => {
			for (const result of results) finished.push({ result, written: resolve })
		})
		if (recorders.size < MAX_RECORDERS) {
			const recorder: Promise<void> = (async () => {
				while (finished.length) {
					const batch = finished.splice(0)
					let ok = true
					try {
						const startedAt = Date.now()
						const { disabled, endpoints: now } = await recordAttempts(
							db,
							owner,
							batch.map((f) => f.result),
							disableAfterMs,
						)
						endpoints.saw(now, startedAt)
						metrics.disabled(disabled.length)
						if (disabled.length) logger.warn({ endpoints: disabled }, 'webhook endpoints disabled')
					} catch (err) {
						ok = false
						logger.warn({ err, count: batch.length }, 'could not record webhook attempts')
					}
					for (const f of batch) f.written(ok)
				}
			})().finally(() => recorders.delete(recorder))
			recorders.add(recorder)
		}
		return written
	}

	return {
		record,
		async drain() {
			while (recorders.size) await Promise.all([...recorders])
		},
	}
}
