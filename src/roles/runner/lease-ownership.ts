import { worthLogging } from '../../lib/failure-log'
import type { Logger } from '../../logger'
import type { Lease, LeaseStore } from './leases'
import { emptyOwnershipStats, type OwnershipHandlers, type PartitionOwnership } from './ownership'

export interface LeaseOwnershipOptions {
	store: LeaseStore
	runnerId: string
	partitions: number
	/** Lease lifetime after each renewal; runners' heartbeats live as long. */
	ttlMs: number
	/** Ticks (heartbeat, renewals, rebalancing) run this often; well inside the TTL. */
	renewEveryMs: number
	/** Sockets of a partition close once its last renewal is `ttlMs - safetyMarginMs` old. */
	safetyMarginMs: number
	logger: Logger
	/** Monotonic milliseconds; tests may pass their own. */
	now?: () => number
}

type Phase = 'claiming' | 'owned' | 'releasing'

interface Held {
	lease: Lease
	/** When the last successful renewal (or the acquisition) was *sent*: Redis extended the lease no earlier. */
	renewedAt: number
	phase: Phase
}

/**
 * Partition ownership through leases in Redis (docs/operations.md, "Running a fleet").
 *
 * Every tick a runner heartbeats, renews its leases in one round trip, and rebalances: its fair
 * share is P / live runners (the remainder going to the first runners in id order, so the shares
 * add up to P); above it, it hands the surplus over; below it, it takes free partitions. Leases
 * are only ever taken when free (released, or expired after their TTL), never stolen.
 *
 * Safety does not depend on Redis answering: a watchdog closes a partition's sockets once its last
 * successful renewal is `ttl - safetyMargin` old, before the lease can expire and be taken by
 * another runner. The margin covers closing the sockets and clock-rate drift; the fencing token
 * covers a process that was paused through all of it (its auth writes are refused).
 */
export function leaseOwnership(options: LeaseOwnershipOptions): PartitionOwnership {
	const { store, runnerId, partitions, ttlMs, renewEveryMs, safetyMarginMs } = options
	const now = options.now ?? (() => performance.now())
	// The runner's logger already names the runner.
	const log = options.logger.child({ component: 'ownership' })
	const held = new Map<number, Held>()
	/** When each partition was first seen free, to spot those nobody takes. */
	const freeSince = new Map<number, number>()
	/** Leases dropped by the watchdog that Redis may still show as ours: released once it answers. */
	const abandoned = new Map<number, Lease>()
	const tasks = new Set<Promise<void>>()
	const stats = emptyOwnershipStats(runnerId)
	let handlers: OwnershipHandlers | undefined
	let leaving = false
	let stopped = false
	let poked = false
	let wake: (() => void) | undefined
	let watchdog: Timer | undefined
	let loop: Promise<void> | undefined
	let failures = 0

	const deadline = (h: Held) => h.renewedAt + ttlMs - safetyMarginMs
	const sorted = (list: Iterable<number>) => [...list].sort((a, b) => a - b)

	function heldChanged() {
		stats.partitions = sorted(held.keys())
		stats.owned = held.size
	}

	function track(task: Promise<void>) {
		tasks.add(task)
		void task.finally(() => tasks.delete(task))
	}

	async function settle() {
		while (tasks.size) await Promise.allSettled([...tasks])
	}

	function announce() {
		store.announce(runnerId).catch((err) => log.debug({ err }, 'could not announce an ownership change'))
	}

	/** Stops acting on partitions whose lease is gone or may be: sockets close before anything else. */
	function drop(list: Held[], why: 'lost' | 'selfFenced') {
		if (!list.length) return
		for (const h of list) {
			held.delete(h.lease.partition)
			if (why === 'selfFenced') abandoned.set(h.lease.partition, h.lease)
		}
		heldChanged()
		stats[why] += list.length
		stats.releases += list.length
		const parts = sorted(list.map((h) => h.lease.partition))
		log.warn(
			{ partitions: parts, why },
			why === 'lost' ? 'leases lost to another runner' : 'renewals failing: closing sessions before the leases can expire',
		)
		// A watchdog that fires late (the process was frozen: a paused VM, a long pause) finds leases
		// that may have expired and been claimed meanwhile: as good as lost.
		const t = now()
		const taken = why === 'lost' || list.some((h) => t >= h.renewedAt + ttlMs)
		track(handlers!.release(parts, { lost: true, taken }).catch((err) => log.error({ err, partitions: parts }, 'releasing lost partitions failed')))
		armWatchdog()
	}

	function armWatchdog() {
		clearTimeout(watchdog)
		let first = Infinity
		for (const h of held.values()) first = Math.min(first, deadline(h))
		if (first === Infinity) return
		watchdog = setTimeout(
			() => {
				const t = now()
				drop(
					[...held.values()].filter((h) => t >= deadline(h)),
					'selfFenced',
				)
				armWatchdog()
			},
			Math.max(0, Math.ceil(first - now())),
		)
	}

	/** Finishes the partitions' commands, closes their sockets, then lets go of the leases. */
	function handOver(list: Held[]) {
		if (!list.length) return
		for (const h of list) h.phase = 'releasing'
		const parts = sorted(list.map((h) => h.lease.partition))
		log.info({ partitions: parts }, 'handing partitions over')
		track(
			(async () => {
				try {
					await handlers!.release(parts, { lost: false })
				} catch (err) {
					log.error({ err, partitions: parts }, 'releasing partitions failed; letting go of them all the same')
				}
				// Renewals went on while the sockets closed; only now may another runner take them.
				const mine = list.filter((h) => held.get(h.lease.partition) === h)
				for (const h of mine) held.delete(h.lease.partition)
				heldChanged()
				armWatchdog()
				await Promise.all(
					mine.map((h) =>
						store.release(h.lease).catch((err) => log.warn({ err, partition: h.lease.partition }, 'could not release a lease; it expires by itself')),
					),
				)
				stats.handedOver += mine.length
				stats.releases += mine.length
				announce()
			})(),
		)
	}

	function claim(list: Held[], takenOver: readonly number[]) {
		if (!list.length) return
		const parts = sorted(list.map((h) => h.lease.partition))
		track(
			(async () => {
				try {
					await handlers!.claim(parts, { takenOver })
					for (const h of list) if (h.phase === 'claiming') h.phase = 'owned'
				} catch (err) {
					log.error({ err, partitions: parts }, 'claiming partitions failed; handing them back')
					handOver(list.filter((h) => held.get(h.lease.partition) === h && h.phase === 'claiming'))
				}
			})(),
		)
	}

	async function rebalance(runners: string[]) {
		const live = [...new Set([...runners, runnerId])].sort()
		const index = live.indexOf(runnerId)
		const share = Math.floor(partitions / live.length) + (index < partitions % live.length ? 1 : 0)
		stats.liveRunners = live.length
		stats.fairShare = share
		const active = [...held.values()].filter((h) => h.phase !== 'releasing')
		if (active.length > share) {
			const surplus = active.filter((h) => h.phase === 'owned').sort((a, b) => b.lease.partition - a.lease.partition)
			handOver(surplus.slice(0, active.length - share))
			// Not watching free partitions meanwhile: what was seen free before says nothing later.
			freeSince.clear()
			return
		}
		const fleet = await store.fleet()
		const t = now()
		const free: number[] = []
		for (let p = 0; p < partitions; p++) {
			if (fleet.partitions[p] || held.has(p) || abandoned.has(p)) freeSince.delete(p)
			else {
				if (!freeSince.has(p)) freeSince.set(p, t)
				free.push(p)
			}
		}
		// A partition free for a whole TTL is in nobody's share (the runners' views of who is alive
		// disagree, or its rightful taker is stuck): whoever sees it takes it, and rebalancing
		// evens the shares out afterwards.
		const orphans = free.filter((p) => t - freeSince.get(p)! >= ttlMs)
		const wanted = shuffle(free.filter((p) => !orphans.includes(p))).slice(0, Math.max(0, share - active.length))
		const attempt = [...orphans, ...wanted]
		if (!attempt.length) return
		const sentAt = now()
		const got = (await store.acquire(attempt, runnerId, ttlMs)).filter((a) => a !== null)
		if (leaving || stopped) {
			await Promise.all(got.map((a) => store.release(a).catch(() => {})))
			return
		}
		const claimed: Held[] = []
		for (const a of got) {
			const h: Held = { lease: { partition: a.partition, holder: a.holder, fence: a.fence }, renewedAt: sentAt, phase: 'claiming' }
			held.set(a.partition, h)
			freeSince.delete(a.partition)
			claimed.push(h)
			stats.acquired++
			if (a.expiredHolder) stats.takeovers++
		}
		if (!claimed.length) return
		heldChanged()
		const takeovers = got.filter((a) => a.expiredHolder && a.expiredHolder !== runnerId)
		log.info(
			{ partitions: sorted(got.map((a) => a.partition)), takenOverFrom: [...new Set(takeovers.map((a) => a.expiredHolder))] },
			takeovers.length ? 'took over partitions whose holder stopped renewing' : 'acquired partitions',
		)
		armWatchdog()
		claim(
			claimed,
			takeovers.map((a) => a.partition),
		)
	}

	async function tick() {
		const sentAt = now()
		let runners: string[] = []
		try {
			if (!leaving) runners = await store.heartbeat(runnerId, ttlMs)
			const mine = [...held.values()]
			const results = await store.renew(
				mine.map((h) => h.lease),
				ttlMs,
			)
			const gone: Held[] = []
			let errors = 0
			results.forEach((r, i) => {
				const h = mine[i]!
				if (held.get(h.lease.partition) !== h) return
				if (r === true) {
					h.renewedAt = sentAt
					stats.renewals++
				} else if (r === false) gone.push(h)
				else errors++
			})
			stats.renewalFailures += gone.length + errors
			drop(gone, 'lost')
			armWatchdog()
			if (errors) throw new RenewalsFailed(errors)
			if (failures) log.info({ failures }, 'heartbeat and lease renewals answered again')
			failures = 0
		} catch (err) {
			if (!(err instanceof RenewalsFailed)) stats.renewalFailures += held.size
			failures++
			if (worthLogging(failures)) log.warn({ err, failures }, 'heartbeat or lease renewal failed')
			return
		}
		for (const [p, lease] of abandoned)
			await store.release(lease).then(
				() => abandoned.delete(p),
				() => {},
			)
		if (leaving || stopped) return
		try {
			await rebalance(runners)
		} catch (err) {
			log.warn({ err }, 'rebalancing failed; trying again next tick')
		}
	}

	async function run() {
		while (!stopped) {
			if (!poked)
				await new Promise<void>((resolve) => {
					const timer = setTimeout(resolve, renewEveryMs)
					wake = () => {
						clearTimeout(timer)
						resolve()
					}
				})
			wake = undefined
			poked = false
			if (!stopped) await tick()
		}
	}

	function poke() {
		poked = true
		wake?.()
	}

	return {
		async start(h) {
			handlers = h
			await store
				.onAnnouncement((from) => from !== runnerId && poke())
				.catch((err) => log.warn({ err }, 'no ownership announcements; rebalancing on ticks only'))
			await tick()
			loop = run()
			await settle()
			announce()
			log.info({ partitions: sorted(held.keys()), liveRunners: stats.liveRunners, ttlMs }, 'ownership started')
		},
		fence: (partition) => held.get(partition)?.lease.fence ?? 0,
		holds(partition) {
			const h = held.get(partition)
			return !!h && now() < deadline(h)
		},
		async stop() {
			leaving = true
			// Others stop counting this runner at once, so they take its partitions as they are freed.
			await store.leave(runnerId).catch((err) => log.warn({ err }, 'could not leave the live runners'))
			await settle()
			handOver([...held.values()].filter((h) => h.phase !== 'releasing'))
			await settle()
			stopped = true
			wake?.()
			await loop
			clearTimeout(watchdog)
			await store.close()
			log.info('ownership stopped')
		},
		stats,
	}
}

class RenewalsFailed extends Error {
	constructor(count: number) {
		super(`${count} lease renewals got no answer`)
	}
}

function shuffle<T>(list: T[]): T[] {
	for (let i = list.length - 1; i > 0; i--) {
		const j = Math.floor(Math.random() * (i + 1))
		;[list[i], list[j]] = [list[j]!, list[i]!]
	}
	return list
}
