import { hostname } from 'node:os'
import { and, inArray, isNull } from 'drizzle-orm'
import type { Bus } from '../../bus/bus'
import { domainEvent, type DomainEvent } from '../../core/catalogue'
import type { SessionStatus } from '../../core/session-status'
import { commandPartition } from '../../core/streams'
import type { Config } from '../../config'
import type { Db } from '../../db/client'
import { startPeriodic } from '../../lib/background'
import { sessions } from '../../db/schema'
import type { RedisClient } from '../../lib/redis-client'
import type { Logger } from '../../logger'
import { createRedisLeaseStore } from '../runner/leases'
import type { ConsumerMetrics } from './metrics'

/** Statuses that claim a live socket: wrong once no runner holds the session's partition. */
const LIVE_STATUSES: SessionStatus[] = ['connected', 'qr']

/** How long the watch holds a partition's lease while it tells that partition's sessions: far more than a publish takes. */
const HOLD_MS = 5_000

export interface LostRunnersDeps {
	redis: RedisClient
	db: Db
	bus: Bus
	config: Pick<Config, 'redisPrefix' | 'events' | 'ownership'>
	logger: Logger
	metrics: Pick<ConsumerMetrics, 'runnerLost'>
}

/**
 * Says so when a runner died and no runner is left to take its sessions over. A takeover tells
 * clients itself (`reconnecting`, reason `runner_lost`); with no runner alive nobody would, and the
 * sessions would read `connected` (or show a QR code nobody can scan) until a runner starts.
 *
 * A partition whose lease has been free for `lostAfterMs` (two lease TTLs by default) has no
 * runner coming for it: every live runner takes a free partition within one TTL. The watch then
 * takes the lease itself, briefly, so no runner can start that partition's sessions while it
 * publishes their `runner_lost` events, and lets it go: a runner that comes later connects them
 * again, after those events. Several processes may watch; the lease lets one at a time speak for a
 * partition. Deleted sessions are left out: their runner logs them out when it comes.
 */
export function watchLostRunners({ redis, db, bus, config, logger, metrics }: LostRunnersDeps): { stop(): Promise<void> } {
	const partitions = config.events.commandPartitions
	const graceMs = config.ownership.lostAfterMs
	const holder = `lost-runner-watch:${hostname()}:${process.pid}:${Math.random().toString(36).slice(2, 8)}`
	const store = createRedisLeaseStore({ redis, prefix: config.redisPrefix, partitions, commandTimeoutMs: config.ownership.renewEveryMs })
	/** When each partition was first seen free, in a row of checks. */
	const freeSince = new Map<number, number>()

	async function check() {
		const fleet = await store.fleet()
		const now = Date.now()
		for (const [p, lease] of fleet.partitions.entries()) {
			if (lease) freeSince.delete(p)
			else if (!freeSince.has(p)) freeSince.set(p, now)
		}
		const orphaned = new Set([...freeSince].filter(([, since]) => now - since >= graceMs).map(([p]) => p))
		if (!orphaned.size) return
		const stale = new Map<number, { id: string; tenantId: string; desiredState: string }[]>()
		for (const row of await db
			.select({ id: sessions.id, tenantId: sessions.tenantId, desiredState: sessions.desiredState })
			.from(sessions)
			.where(and(inArray(sessions.status, LIVE_STATUSES), isNull(sessions.deletedAt)))) {
			const p = commandPartition(row.id, partitions)
			if (!orphaned.has(p)) continue
			const rows = stale.get(p)
			if (rows) rows.push(row)
			else stale.set(p, [row])
		}
		// Looked at: read again only after another grace, by when the events told now are projected (or
		// nothing was left to tell).
		for (const p of orphaned) freeSince.set(p, now)
		for (const lease of await store.acquire([...stale.keys()], holder, HOLD_MS)) {
			if (!lease) continue
			try {
				const rows = stale.get(lease.partition)!
				await bus.publish(
					rows.map(
						(s) =>
							domainEvent(
								'session.status.disconnected',
								{ tenantId: s.tenantId, sessionId: s.id },
								s.desiredState === 'running'
									? {
											status: 'reconnecting',
											reason: 'runner_lost',
											message: 'no runner is running the session: its runner stopped answering; it reconnects once a runner is back',
										}
									: { status: 'stopped', reason: 'runner_lost', message: 'its runner stopped answering before the session was stopped' },
							) as DomainEvent,
					),
				)
				const running = rows.filter((s) => s.desiredState === 'running').length
				metrics.runnerLost('reconnecting', running)
				metrics.runnerLost('stopped', rows.length - running)
				logger.warn(
					{ partition: lease.partition, sessions: rows.length, runners: fleet.runners.length },
					'no runner holds the partition; told its sessions were lost',
				)
			} finally {
				await store.release(lease).catch(() => {})
			}
		}
	}

	const rounds = startPeriodic(check, {
		everyMs: config.ownership.renewEveryMs,
		immediately: true,
		onError: (err) => logger.warn({ err }, 'could not look for partitions without a runner'),
	})
	return {
		async stop() {
			await rounds.stop()
			await store.close()
		},
	}
}
