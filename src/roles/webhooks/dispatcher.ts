import { hostname } from 'node:os'
import type { Bus } from '../../bus/bus'
import type { WebhooksConfig } from '../../config'
import type { Db } from '../../db/client'
import type { HandOff, HeldDelivery } from '../../db/webhooks'
import type { Resolver } from '../../lib/addresses'
import type { Logger } from '../../logger'
import { createAttempts } from './attempt'
import { createEndpointBreaker } from './breaker'
import { createEndpointStates } from './endpoint-states'
import type { WebhookMetrics } from './metrics'
import { watermark } from './progress'
import { createRecorder } from './recorder'
import { laneKey, lanesOf, released } from './lanes'
import { createSlotShare } from './share'
import { type AttemptResult, type ClaimedDelivery, claimDue, handedBy, waitingEndpoints } from './store'

export interface DispatcherDeps {
	db: Db
	bus: Bus
	config: WebhooksConfig
	encryptionKey: Buffer
	logger: Logger
	metrics: WebhookMetrics
	/** Replaces DNS (tests). */
	resolve?: Resolver
}

export interface Dispatcher {
	/**
	 * Rows were recorded that nobody holds: looks for due deliveries now, and again as each lane
	 * sending now ends (one of them may be what holds those rows back).
	 */
	wake(): void
	/**
	 * Which of these lanes this dispatcher would send straight from the stream, skipping a claim:
	 * lanes it sends already (extended) and new ones while it has room. Null when it takes none. The
	 * offered lanes are kept open until `take` or `decline`; the caller inserts the rows (see
	 * `HandOff`) and passes on those inserted held.
	 */
	offer(lanes: readonly { endpointId: string; sessionId: string }[]): Offer | null
	/** Stops claiming, lets the requests in flight finish and records them. */
	stop(): Promise<void>
}

export interface Offer {
	handOff: HandOff
	/** Sends these rows, inserted held by this dispatcher, after what their lanes hold already. */
	take(rows: readonly HeldDelivery[]): void
	/** Closes the offer: lanes that got no rows end once they have sent what they hold. */
	close(): void
}

/** One lane being sent: a session's deliveries to one endpoint, one after another. */
interface LaneRun {
	key: string
	endpointId: string
	/** When it took its slot (see SlotShare). */
	startedAt: number
	queue: ClaimedDelivery[]
	/** A run handed from the stream takes more rows while it runs; a claimed run sends what it claimed. */
	extendable: boolean
	/** Offers in progress that may add rows: the run waits for them before it ends. */
	pins: number
	/** It stopped sending: rows still arriving are released unsent. */
	ended: boolean
	/** Rows it was given in all. */
	taken: number
	/** Wakes the run when rows arrive or the last pin goes. */
	nudge: (() => void) | null
}

/** Room in a lock beyond the attempt it covers, for writing the attempt's outcome. */
const LOCK_MARGIN_MS = 5_000

/**
 * Outcomes of one lane that may be unwritten while it sends: one, so a lane's next delivery goes
 * out only once the previous outcome is in Postgres, and a crash re-sends (same webhook-id) at most
 * the one delivery per lane whose answer had not been recorded. More would send faster (the lane
 * need not wait for the write) but re-send every delivered event still unwritten at a crash.
 */
const UNWRITTEN_PER_LANE = 1

/** Rows a handed lane may hold unsent: beyond this its new rows wait in Postgres for a claim, and memory stays bounded. */
const QUEUED_PER_LANE = 256

/**
 * Rows a handed lane takes in all before it stops taking more: it then ends once they are sent, and
 * its lane competes for a slot again, so a few busy sessions cannot keep the slots for good.
 */
const TAKEN_PER_LANE = 1_024

/**
 * Part of `concurrency` that hand-offs leave to claims: retries, rows recorded while their lane was
 * busy and a dead dispatcher's rows always find a slot, however busy the stream keeps the rest.
 */
const CLAIM_SHARE = 1 / 8

/** Deliveries of one lane claimed at once and sent one after another without asking Postgres in between. */
const PER_LANE = 64

/**
 * The dispatcher: sends lanes (up to `concurrency` at once, each a run of one session's deliveries
 * to one endpoint) in order, and records the outcomes in batches as they finish. A lane comes
 * either from a claim (due rows nobody holds: retries, a dead dispatcher's rows, rows recorded
 * while their lane was busy) or straight from the stream (`offer`). A lane is taken again only
 * once its rows are recorded, which is what keeps a session's events in order across claims,
 * hand-offs and dispatchers. Slots go to endpoints in turns (see `SlotShare`).
 */
export function startDispatcher(deps: DispatcherDeps): Dispatcher {
	const { db, bus, config, logger, metrics } = deps
	const owner = `${hostname()}:${process.pid}:${Math.random().toString(36).slice(2, 8)}`
	// The lock outlives the longest attempt, with room to record it; a dispatcher killed mid-attempt
	// leaves its rows to be claimed again once the lock has run out.
	const lockMs = config.timeoutMs * 2 + LOCK_MARGIN_MS
	// Rows handed from the stream are locked under a name of their own: a lane this dispatcher
	// extends must hold nothing but handed rows, never the rows of a claim it is sending as well.
	const handedOwner = handedBy(owner)
	const attempt = createAttempts({ config, encryptionKey: deps.encryptionKey, metrics, resolve: deps.resolve })
	const endpoints = createEndpointStates()
	const breaker = createEndpointBreaker()
	const share = createSlotShare(config.concurrency)
	/** When a dispatcher with every slot busy last looked for endpoints waiting for one. */
	let probedAt = 0
	const { record, drain } = createRecorder({ db, owner, disableAfterMs: config.disableAfterMs, logger, metrics, endpoints })
	/** Every lane being sent. */
	const runs = new Set<LaneRun>()
	/** The handed runs that still take rows, by lane: one at most per lane. */
	const open = new Map<string, LaneRun>()
	const running = new Set<Promise<void>>()
	let stopping = false
	let wakeUp: (() => void) | null = null
	/** Lanes that end should look for work again: rows were recorded that nobody holds (some may be behind them). */
	const lookAgain = new WeakSet<LaneRun>()

	/** Runs the claim loop now. */
	const claimNow = () => {
		wakeUp?.()
		wakeUp = null
	}
	const wake = () => {
		for (const run of runs) lookAgain.add(run)
		claimNow()
	}

	/**
	 * Sends one lane's rows in order, each once the previous one succeeded and its outcome is written
	 * (`UNWRITTEN_PER_LANE`). The first that does not succeed (or is not due yet) stops the lane: the
	 * rows behind it are released unsent. The lane is held
	 * (its rows locked) until its last outcome is in; it also stops while a row's lock still covers a
	 * whole attempt. A handed lane waits, while an offer is open, for rows to be added.
	 */
	async function sendLane(run: LaneRun) {
		const writes: Promise<boolean>[] = []
		let writeFailed = false
		const write = (results: AttemptResult[]) => {
			writes.push(
				record(results).then((ok) => {
					if (!ok) writeFailed = true
					return ok
				}),
			)
		}
		const stop = (results: AttemptResult[]) => {
			write(results)
			lookAgain.add(run)
		}
		try {
			for (;;) {
				// A write that failed leaves the lane held until its locks run out; its rows then go again.
				if (writeFailed) return
				const d = run.queue[0]
				if (!d) {
					if (stopping) return
					if (run.pins) await new Promise<void>((resolve) => (run.nudge = resolve))
					// Still open while outcomes are written: a lane whose rows are all unwritten can take more.
					else if (run.extendable && writes.length) await writes.shift()
					else return
					continue
				}
				if (stopping || !d.due || Date.now() + config.timeoutMs + LOCK_MARGIN_MS > d.lockedUntil) return stop(released(run.queue.splice(0)))
				// Its turn is over: the rows behind go back to the queue, in order, and other endpoints get the slot.
				if (share.shouldYield(run.endpointId, run.startedAt)) {
					metrics.gaveUp()
					return stop(released(run.queue.splice(0)))
				}
				if (writes.length >= UNWRITTEN_PER_LANE && !(await writes.shift())) return
				// The endpoint as the last write saw it: a new URL or secret applies now, and a deleted,
				// paused or disabled endpoint stops the lane (its rows wait, pending, for it to come back).
				const target = endpoints.current(d, d.lockedUntil - lockMs)
				if (!target || !breaker.begin(d.endpointId)) return stop(released(run.queue.splice(0)))
				run.queue.shift()
				// Ended before the lane goes on (callbacks run in the order they were added).
				const sending = attempt(target)
				void sending.then(
					(r) => breaker.end(d.endpointId, r.timedOut === true),
					() => breaker.end(d.endpointId, false),
				)
				const result = await sending
				// A failure and the release of the rows behind it are written together, so no claim sees the
				// failed row free while those rows are still held.
				if (result.state !== 'delivered') return stop([result, ...released(run.queue.splice(0))])
				write([result])
			}
		} finally {
			run.ended = true
			share.ended(run.endpointId)
			if (open.get(run.key) === run) open.delete(run.key)
			await Promise.all(writes)
		}
	}

	function startRun(key: string, endpointId: string, queue: ClaimedDelivery[], extendable: boolean, pins = 0): LaneRun {
		const run: LaneRun = { key, endpointId, startedAt: Date.now(), queue, extendable, pins, ended: false, taken: queue.length, nudge: null }
		runs.add(run)
		share.started(endpointId)
		if (extendable) open.set(key, run)
		const sending: Promise<void> = sendLane(run).finally(() => {
			runs.delete(run)
			running.delete(sending)
			// A claimed lane's end frees a slot for the rest of a backlog; a handed one's only when rows wait.
			if (!run.extendable || lookAgain.has(run)) claimNow()
		})
		running.add(sending)
		return run
	}

	const nudge = (run: LaneRun) => {
		run.nudge?.()
		run.nudge = null
	}

	function offer(lanes: readonly { endpointId: string; sessionId: string }[]): Offer | null {
		if (stopping) return null
		const offered = new Map<string, { run: LaneRun; extend: boolean; endpointId: string; sessionId: string }>()
		let room = config.concurrency - Math.max(1, Math.ceil(config.concurrency * CLAIM_SHARE)) - runs.size
		const fresh: { endpointId: string; sessionId: string }[] = []
		for (const { endpointId, sessionId } of lanes) {
			const key = laneKey(endpointId, sessionId)
			const run = open.get(key)
			if (run) {
				if (run.ended || run.queue.length >= QUEUED_PER_LANE || run.taken >= TAKEN_PER_LANE) continue
				run.pins++
				offered.set(key, { run, extend: true, endpointId, sessionId })
			} else if (!breaker.waiting(endpointId)) fresh.push({ endpointId, sessionId })
		}
		// New lanes get the room left in turns, endpoint by endpoint; those left out wait for a claim.
		const declined = new Set<string>()
		for (const { endpointId, sessionId } of share.fairOrder(fresh)) {
			const key = laneKey(endpointId, sessionId)
			if (room-- > 0) offered.set(key, { run: startRun(key, endpointId, [], true, 1), extend: false, endpointId, sessionId })
			else declined.add(endpointId)
		}
		share.sawWaiting(declined)
		if (!offered.size) return null
		// Taken before the insert, so it never runs past the locks the insert takes.
		const lockedUntil = Date.now() + lockMs
		let closed = false
		return {
			handOff: {
				owner: handedOwner,
				lockMs,
				lanes: [...offered.values()].map(({ endpointId, sessionId, extend }) => ({ endpointId, sessionId, extend })),
			},
			take(rows) {
				const late: ClaimedDelivery[] = []
				for (const row of rows) {
					const { run } = offered.get(laneKey(row.endpointId, row.sessionId))!
					const d: ClaimedDelivery = { ...row, due: true, attempt: 1, createdAtMs: Date.now(), locked: true, lockedUntil, holder: null }
					if (run.ended) late.push(d)
					else {
						run.queue.push(d)
						run.taken++
					}
				}
				metrics.taken('stream', rows.length - late.length)
				// A lane that stopped meanwhile (a failure, a stop) sends none of them: they wait for a claim.
				if (late.length) {
					void record(released(late))
					wake()
				}
				for (const { run } of offered.values()) nudge(run)
			},
			close() {
				if (closed) return
				closed = true
				for (const { run } of offered.values()) {
					run.pins--
					nudge(run)
				}
			},
		}
	}

	const loop = (async () => {
		let failures = 0
		while (!stopping) {
			try {
				const free = config.concurrency - runs.size
				let claimed = 0
				if (free > 0) {
					const mark = await watermark(bus)
					const lanes = lanesOf(await claimDue(db, owner, free, PER_LANE, lockMs, mark, breaker.waitingEndpoints(), share.turns()))
					claimed = lanes.size
					metrics.taken(
						'claim',
						[...lanes.values()].reduce((n, rows) => n + rows.length, 0),
					)
					for (const [key, rows] of lanes) startRun(key, rows[0]!.endpointId, rows, false)
				} else if (Date.now() - probedAt >= config.pollMs) {
					// Every slot is busy: which other endpoints wait for one (their turn makes lanes give slots up).
					probedAt = Date.now()
					share.sawWaiting(await waitingEndpoints(db, await watermark(bus), share.sending(), breaker.waitingEndpoints(), config.concurrency))
				}
				failures = 0
				if (claimed && claimed === free) continue
			} catch (err) {
				failures++
				logger.warn({ err, failures }, 'webhook dispatcher could not claim deliveries; backing off')
			}
			if (stopping) break
			await new Promise<void>((resolve) => {
				const timer = setTimeout(resolve, failures ? Math.min(100 * 2 ** failures, 5_000) : config.pollMs)
				wakeUp = () => {
					clearTimeout(timer)
					resolve()
				}
			})
		}
	})()

	return {
		wake,
		offer,
		async stop() {
			stopping = true
			claimNow()
			for (const run of runs) nudge(run)
			await loop
			while (running.size) await Promise.allSettled([...running])
			await drain()
		},
	}
}
