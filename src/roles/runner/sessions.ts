import { isEnded } from '../../core/session-status'
import { Condition } from '../../lib/condition'
import type { RunnerStore } from '../../db/runner-store'
import type { AuthStore, SessionConnection, WhatsAppPort } from '../../whatsapp/port'
import { PartitionLost } from './errors'
import type { RunnerMetrics } from './metrics'
import type { RunnerPublisher } from './publisher'

export interface RunningSession {
	connection: SessionConnection
	tenantId: string
	partition: number
}

export interface SessionRegistryDeps {
	port: WhatsAppPort
	/** Where a session's credentials live, written under the fence of its partition's lease. */
	auth(sessionId: string, partition: number): AuthStore
	store: Pick<RunnerStore, 'messageContent'>
	publisher: RunnerPublisher
	metrics: Pick<RunnerMetrics, 'observe'>
	/** True while this runner surely owns the partition. */
	holds(partition: number): boolean
	partitionOf(sessionId: string): number
}

/**
 * The WhatsApp connections this runner holds, one per session at most. A connection is opened only
 * while its partition is held, and it leaves the registry by itself once it ended.
 */
export class SessionRegistry {
	private readonly running = new Map<string, RunningSession>()
	/** Changes whenever a session's status may have changed, or partitions were released. */
	private readonly status = new Condition()

	constructor(private readonly deps: SessionRegistryDeps) {}

	/** The session's connection, when it runs here for this tenant. */
	get(sessionId: string, tenantId: string): RunningSession | undefined {
		const r = this.running.get(sessionId)
		return r?.tenantId === tenantId ? r : undefined
	}

	/** Whether a connection runs (or is on its way up) for the session. */
	isLive(sessionId: string): boolean {
		const r = this.running.get(sessionId)
		return !!r && !isEnded(r.connection.status)
	}

	open(sessionId: string, tenantId: string, phoneNumber?: string): SessionConnection {
		const { deps } = this
		const partition = deps.partitionOf(sessionId)
		// Checked in the same tick as the socket opens: a release that began cannot miss it.
		if (!deps.holds(partition)) throw new PartitionLost(partition)
		const connection = deps.port.open({
			sessionId,
			tenantId,
			phoneNumber,
			auth: deps.auth(sessionId, partition),
			emit: (events) => {
				deps.metrics.observe(sessionId, events)
				if (events.some((e) => e.type === 'session.status.connected' || e.type === 'session.status.disconnected')) this.statusChanged()
				return deps.publisher.sessionEvents(tenantId, sessionId, events)
			},
			storedMessage: (key) => deps.store.messageContent(sessionId, key.id, key.fromMe),
		})
		this.running.set(sessionId, { connection, tenantId, partition })
		void connection.ended.then(() => {
			if (this.running.get(sessionId)?.connection === connection) this.running.delete(sessionId)
		})
		return connection
	}

	/** Closes, without logging out, every connection `predicate` picks. */
	async closeWhere(predicate: (r: RunningSession) => boolean, how: { reason: string; message: string; silent?: boolean }): Promise<void> {
		await Promise.all([...this.running.values()].filter(predicate).map((r) => r.connection.close({ status: 'reconnecting', ...how })))
	}

	statusChanged(): void {
		this.status.changed()
	}

	/**
	 * Resolves once the session is no longer on its way to connected (starting, reconnecting), its
	 * partition was released, or `maxMs` passed: a send taken over with its session waits for it.
	 */
	settled(r: RunningSession, maxMs: number): Promise<void> {
		return this.status.until(
			() => !this.deps.holds(r.partition) || (r.connection.status !== 'starting' && r.connection.status !== 'reconnecting'),
			maxMs,
		)
	}
}
