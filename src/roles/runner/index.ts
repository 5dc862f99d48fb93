import { proto } from '@whiskeysockets/baileys'
import { and, eq, ne } from 'drizzle-orm'
import { hostname } from 'node:os'
import { sessionAuth, sessionMessages, sessions } from '../../db/schema'
import type { Delivery, GroupConsumer } from '../../bus/bus'
import { domainEvent, isCommand, type Command, type DomainEvent } from '../../core/catalogue'
import { commandPartition, partitionStream, RUNNER_GROUP } from '../../core/streams'
import { runnerMetrics } from './metrics'
import { createCipher } from '../../lib/crypto'
import { trustRootKey } from '../../whatsapp/root-key'
import { deleteAuthState, loadPostgresAuthState } from '../../whatsapp/auth-state'
import { createBaileysPort } from '../../whatsapp/baileys'
import { quietLibsignal } from '../../whatsapp/libsignal-console'
import { NotConnectedError, type WhatsAppEvent, type WhatsAppPort, type SessionConnection } from '../../whatsapp/port'
import { leaseOwnership } from './lease-ownership'
import { createRedisLeaseStore } from './leases'
import { ownAllPartitions, type OwnershipStats, type PartitionOwnership } from './ownership'
import type { RoleDeps, RoleHandle } from '../types'

/** Message ids sent per runner that are remembered without asking Postgres. */
const RECENT_SENDS = 50_000

/**
 * How long a send waits for its session to come up when it is starting or reconnecting (just
 * taken over, say) before it fails. The partition's later commands wait behind it meanwhile.
 */
const SEND_WAITS_FOR_CONNECTION_MS = 20_000

export interface RunnerOptions {
	/** Defaults to the Baileys driver configured from `WA_*` settings. */
	port?: WhatsAppPort
	/**
	 * Defaults to partition leases in Redis when the bus is Redis (any number of runners), else to
	 * owning every partition (embedded mode: one process).
	 */
	ownership?: PartitionOwnership
	/** Unique per runner incarnation; defaults to `<host>:<pid>:<random>`. */
	runnerId?: string
}

export interface RunnerHandle extends RoleHandle {
	readonly runnerId: string
	/** Live ownership counters (lease renewals, takeovers, …): what the metrics module exports. */
	readonly ownership: OwnershipStats
}

/** A fresh id per start: a restarted runner must never pass for its previous incarnation. */
export const newRunnerId = () => `${hostname()}:${process.pid}:${Math.random().toString(36).slice(2, 8)}`

interface Running {
	session: SessionConnection
	tenantId: string
	partition: number
}

/** Envelope meta for an event about a command's session: a fresh id and time, never the command's. */
const metaOf = (cmd: Command) => ({ tenantId: cmd.tenantId, sessionId: cmd.sessionId })

/**
 * The command's partition is no longer (surely) this runner's: the command is left pending for the
 * next owner, which takes it over in order. Transient for the bus, so it never dead-letters.
 */
class PartitionLost extends Error {
	override name = 'PartitionLost'
	constructor(partition: number) {
		super(`partition ${partition} is no longer owned by this runner`)
	}
}

/** A command this runner refuses with a reason (`session.command.failed`), rather than retries. */
class CommandRefused extends Error {
	constructor(
		readonly code: string,
		message: string,
	) {
		super(message)
	}
}

/**
 * Role `runner`: owns WhatsApp sockets (DESIGN §1, §3). Executes `session.start` / `stop` /
 * `logout` / `sendMessage` from the command partitions it owns, runs one session per started
 * WhatsApp account through the port, and publishes what the sessions emit as domain events. It
 * writes no projection table: the consumer role persists the events.
 */
export async function start(deps: RoleDeps, options: RunnerOptions = {}): Promise<RunnerHandle> {
	const { config, database, bus, redis } = deps
	const runnerId = options.runnerId ?? newRunnerId()
	const logger = deps.logger.child({ runner: runnerId })
	const db = database.db
	// Baileys keeps the trusted noise root in a module global: this realm (Worker or main thread)
	// sets it for its own sockets.
	if (config.waRootPublicKey) trustRootKey(config.waRootPublicKey)
	const restoreConsole = quietLibsignal(logger)
	const port =
		options.port ??
		createBaileysPort({ logger, websocketUrl: config.waWebSocketUrl, reconnect: config.waReconnect })
	const ownership =
		options.ownership ??
		(redis && bus.kind === 'redis'
			? leaseOwnership({
					store: createRedisLeaseStore({
						redis,
						prefix: config.redisPrefix,
						partitions: config.events.commandPartitions,
						commandTimeoutMs: config.ownership.renewEveryMs,
					}),
					runnerId,
					partitions: config.events.commandPartitions,
					ttlMs: config.ownership.leaseTtlMs,
					renewEveryMs: config.ownership.renewEveryMs,
					safetyMarginMs: config.ownership.safetyMarginMs,
					logger,
				})
			: ownAllPartitions(config.events.commandPartitions, runnerId))
	const recorded = runnerMetrics(deps.metrics)
	recorded.watchOwnership(ownership.stats)
	const cipher = createCipher(config.encryptionKey)
	const partitions = config.events.commandPartitions
	const partitionOf = (sessionId: string) => commandPartition(sessionId, partitions)

	const running = new Map<string, Running>()
	const owned = new Set<number>()
	/** One consumer per owned partition: handing one over never waits for another's commands. */
	const consumers = new Map<number, Promise<GroupConsumer>>()
	const recentSends = new Set<string>()
	/** Woken whenever a session's status may have changed, or partitions were released. */
	const statusWaiters = new Set<() => void>()
	let stopping = false

	const holds = (partition: number) => owned.has(partition) && ownership.holds(partition)
	const statusChanged = () => {
		for (const wake of [...statusWaiters]) wake()
	}

	// ── publishing ──────────────────────────────────────────────────────────────────────────

	async function publish(envelopes: DomainEvent[]) {
		if (!envelopes.length) return
		for (let attempt = 1; ; attempt++) {
			try {
				await bus.publish(envelopes)
				return
			} catch (err) {
				if (attempt >= 5) throw err
				logger.warn({ err, attempt }, 'publishing failed; retrying')
				await Bun.sleep(100 * 2 ** attempt)
			}
		}
	}

	function envelopes(tenantId: string, sessionId: string, events: WhatsAppEvent[]): DomainEvent[] {
		const out: DomainEvent[] = []
		for (const e of events) {
			// Operators see which runner holds a session (`ownerRunner`) from its connected event.
			const data = e.type === 'session.status.connected' ? { ...e.data, runner: runnerId } : e.data
			if (e.type === 'session.status.connected' || e.type === 'session.status.disconnected') statusChanged()
			try {
				out.push(domainEvent(e.type, { tenantId, sessionId }, data as never) as DomainEvent)
			} catch (err) {
				// A payload the catalogue refuses is a mapping bug; the rest of the batch still goes out.
				logger.error({ err, sessionId, type: e.type }, 'dropping an event the catalogue refuses')
			}
		}
		return out
	}

	const refuse = (cmd: Command, code: string, message: string) =>
		publish([
			domainEvent(
				'session.command.failed',
				metaOf(cmd),
				{
					commandId: cmd.id,
					command: cmd.type,
					error: { code, message },
					...(cmd.type === 'session.messages.send' ? { messageId: cmd.data.messageId } : {}),
				},
			),
		])

	// ── sessions ────────────────────────────────────────────────────────────────────────────

	async function getMessage(sessionId: string, key: proto.IMessageKey) {
		if (!key.id) return undefined
		const [row] = await db
			.select({ content: sessionMessages.content })
			.from(sessionMessages)
			.where(and(eq(sessionMessages.sessionId, sessionId), eq(sessionMessages.messageId, key.id), eq(sessionMessages.fromMe, !!key.fromMe)))
			.limit(1)
		return row?.content ? proto.Message.fromObject(row.content as Record<string, unknown>) : undefined
	}

	function open(sessionId: string, tenantId: string, phoneNumber?: string): SessionConnection {
		const partition = partitionOf(sessionId)
		// Checked in the same tick as the socket opens: a release that began cannot miss it.
		if (!holds(partition)) throw new PartitionLost(partition)
		const session = port.open({
			sessionId,
			phoneNumber,
			auth: {
				load: () => loadPostgresAuthState({ db, sessionId, cipher, fence: ownership.fence(partition) }),
				clear: () => deleteAuthState(db, sessionId),
			},
			emit: (events) => {
				recorded.observe(sessionId, events)
				return publish(envelopes(tenantId, sessionId, events))
			},
			getMessage: (key) => getMessage(sessionId, key),
		})
		running.set(sessionId, { session, tenantId, partition })
		void session.ended.then(() => {
			if (running.get(sessionId)?.session === session) running.delete(sessionId)
		})
		return session
	}

	const isLive = (r: Running | undefined): r is Running => !!r && !['stopped', 'logged_out', 'failed'].includes(r.session.status)

	async function sessionRow(cmd: Command) {
		const [row] = await db
			.select({ tenantId: sessions.tenantId, phoneNumber: sessions.phoneNumber, jid: sessions.jid, status: sessions.status })
			.from(sessions)
			.where(eq(sessions.id, cmd.sessionId))
		// Another tenant's session is as absent as a deleted one.
		if (!row || row.tenantId !== cmd.tenantId) throw new CommandRefused('session_not_found', 'no such session')
		return row
	}

	async function startSession(cmd: Extract<Command, { type: 'session.start' }>) {
		if (isLive(running.get(cmd.sessionId))) return
		const row = await sessionRow(cmd)
		// A pairing code is for a session created with a phone number and never linked yet.
		const phone = cmd.data.phoneNumber ?? (row.jid ? undefined : row.phoneNumber?.replace(/\D/g, '') || undefined)
		open(cmd.sessionId, cmd.tenantId, phone)
		logger.info({ sessionId: cmd.sessionId, pairing: phone ? 'code' : 'qr-or-stored' }, 'session starting')
	}

	async function stopSession(cmd: Extract<Command, { type: 'session.stop' }>) {
		const r = running.get(cmd.sessionId)
		if (r && r.tenantId === cmd.tenantId) {
			await r.session.close({ status: 'stopped', reason: 'stopped', message: 'stopped on request' })
			return
		}
		// Not running anywhere (this runner owns the partition): say so, unless the row already
		// tells the more useful story of a logout.
		const row = await sessionRow(cmd)
		if (row.status !== 'stopped' && row.status !== 'logged_out')
			await publish([domainEvent('session.status.disconnected', metaOf(cmd), { status: 'stopped', reason: 'stopped', message: 'stopped on request' })])
	}

	async function logoutSession(cmd: Extract<Command, { type: 'session.logout' }>) {
		const r = running.get(cmd.sessionId)
		if (r && r.tenantId === cmd.tenantId && isLive(r)) return await r.session.logout()
		await sessionRow(cmd)
		const [stored] = await db.select({ id: sessionAuth.sessionId }).from(sessionAuth).where(eq(sessionAuth.sessionId, cmd.sessionId))
		if (stored) {
			// Linked but not running: connect just long enough to tell WhatsApp.
			await open(cmd.sessionId, cmd.tenantId).logout()
			return
		}
		await publish([domainEvent('session.status.disconnected', metaOf(cmd), { status: 'logged_out', reason: 'logged_out', message: 'logged out on request' })])
	}

	async function alreadySent(sessionId: string, messageId: string): Promise<boolean> {
		if (recentSends.has(`${sessionId} ${messageId}`)) return true
		const [row] = await db
			.select({ id: sessionMessages.messageId })
			.from(sessionMessages)
			.where(and(eq(sessionMessages.sessionId, sessionId), eq(sessionMessages.messageId, messageId), eq(sessionMessages.fromMe, true)))
			.limit(1)
		return !!row
	}

	function rememberSend(sessionId: string, messageId: string) {
		recentSends.add(`${sessionId} ${messageId}`)
		if (recentSends.size > RECENT_SENDS) recentSends.delete(recentSends.values().next().value!)
	}

	async function sendMessage(cmd: Extract<Command, { type: 'session.messages.send' }>) {
		const { messageId, to, content } = cmd.data
		// A redelivered command (the runner died before acknowledging it) must not send twice.
		if (await alreadySent(cmd.sessionId, messageId)) {
			logger.info({ sessionId: cmd.sessionId, messageId }, 'message already sent; ignoring the repeated command')
			return
		}
		const partition = partitionOf(cmd.sessionId)
		const r = running.get(cmd.sessionId)
		if (r && r.tenantId === cmd.tenantId) await connection(r, partition)
		// A socket closed because the partition is going away: the next owner sends it.
		if (!holds(partition)) throw new PartitionLost(partition)
		if (!r || r.tenantId !== cmd.tenantId) throw new CommandRefused('session_not_connected', 'the session is not running')
		try {
			await r.session.send(to, content, messageId)
			rememberSend(cmd.sessionId, messageId)
		} catch (err) {
			if (!holds(partition)) throw new PartitionLost(partition)
			if (err instanceof NotConnectedError) throw new CommandRefused('session_not_connected', err.message)
			throw new CommandRefused('send_failed', (err as Error).message || String(err))
		}
	}

	/** Waits while a session is on its way to connected (starting, reconnecting), bounded. */
	function connection(r: Running, partition: number): Promise<void> {
		const waiting = () => holds(partition) && (r.session.status === 'starting' || r.session.status === 'reconnecting')
		if (!waiting()) return Promise.resolve()
		return new Promise((resolve) => {
			const done = () => {
				clearTimeout(timer)
				statusWaiters.delete(wake)
				resolve()
			}
			const wake = () => {
				if (!waiting()) done()
			}
			const timer = setTimeout(done, SEND_WAITS_FOR_CONNECTION_MS)
			statusWaiters.add(wake)
		})
	}

	async function execute(cmd: Command) {
		try {
			switch (cmd.type) {
				case 'session.start':
					return await startSession(cmd)
				case 'session.stop':
					return await stopSession(cmd)
				case 'session.logout':
					return await logoutSession(cmd)
				case 'session.messages.send':
					return await sendMessage(cmd)
			}
		} catch (err) {
			if (!(err instanceof CommandRefused)) throw err
			logger.info({ sessionId: cmd.sessionId, command: cmd.type, code: err.code }, err.message)
			await refuse(cmd, err.code, err.message)
		}
	}

	/** Commands of one session run in order; different sessions in parallel. */
	async function handle(batch: Delivery[]) {
		const bySession = new Map<string, Command[]>()
		for (const { envelope } of batch) {
			if (!isCommand(envelope)) continue
			bySession.set(envelope.sessionId, [...(bySession.get(envelope.sessionId) ?? []), envelope])
		}
		const errors: unknown[] = []
		await Promise.all(
			[...bySession.values()].map(async (commands) => {
				for (const cmd of commands) {
					try {
						// Asked before every command: a paused runner must not act once its lease may be gone.
						const partition = partitionOf(cmd.sessionId)
						if (!holds(partition)) throw new PartitionLost(partition)
						await execute(cmd)
					} catch (err) {
						if (err instanceof PartitionLost) logger.info({ sessionId: cmd.sessionId, command: cmd.type }, 'partition released; the next owner executes the command')
						else logger.error({ err, sessionId: cmd.sessionId, command: cmd.type }, 'command failed; it will be retried')
						errors.push(err)
						return
					}
				}
			}),
		)
		// Every command is idempotent, so the bus may redeliver the whole batch.
		if (errors.length) throw errors.find((err) => err instanceof PartitionLost) ?? errors[0]
	}

	// ── ownership ───────────────────────────────────────────────────────────────────────────

	/** Reads one partition's commands; its pending entries (a dead owner's included) come first. */
	function consume(partition: number): Promise<GroupConsumer> {
		const starting = bus.consume({
			group: RUNNER_GROUP,
			streams: [partitionStream(partition)],
			consumer: runnerId,
			takeOver: true,
			claimIdleMs: config.events.claimIdleMs,
			maxDeliveries: config.events.maxDeliveries,
			isTransient: (err) => err instanceof PartitionLost,
			handle,
		})
		consumers.set(partition, starting)
		return starting
	}

	/** Partitions whose consumer is still finishing its batch: claimed again, they wait for it. */
	const draining = new Map<number, Promise<void>>()

	/** Stops reading `partitions`; resolves once the batches in hand are done and acknowledged. */
	async function stopConsuming(parts: number[]) {
		await Promise.all(
			parts.map(async (p) => {
				const consumer = consumers.get(p)
				if (!consumer) return await draining.get(p)
				consumers.delete(p)
				const stopped = consumer.then(
					(c) => c.stop(),
					() => {},
				)
				draining.set(p, stopped)
				await stopped.finally(() => draining.get(p) === stopped && draining.delete(p))
			}),
		)
	}

	/** Starts every session of `partitions` that should run: a paired one logs in again without a QR. */
	async function resume(parts: number[]) {
		const wanted = new Set(parts)
		const rows = await db
			.select({ id: sessions.id, tenantId: sessions.tenantId, phoneNumber: sessions.phoneNumber, jid: sessions.jid })
			.from(sessions)
			// A logged-out session needs a new pairing, which someone has to ask for.
			.where(and(eq(sessions.desiredState, 'running'), ne(sessions.status, 'logged_out')))
		let resumed = 0
		for (const row of rows) {
			const partition = partitionOf(row.id)
			if (!wanted.has(partition) || !holds(partition) || isLive(running.get(row.id))) continue
			open(row.id, row.tenantId, row.jid ? undefined : row.phoneNumber?.replace(/\D/g, '') || undefined)
			resumed++
		}
		if (resumed) logger.info({ resumed }, 'resumed running sessions')
	}

	async function closeWhere(predicate: (r: Running) => boolean, reason: string, message: string) {
		await Promise.all(
			[...running.values()].filter(predicate).map((r) => r.session.close({ status: 'reconnecting', reason, message })),
		)
	}

	await ownership.start({
		async claim(parts) {
			if (stopping) throw new Error('the runner is stopping')
			for (const p of parts) owned.add(p)
			// Sessions first, so a send taken over from a dead owner finds its session coming up.
			await resume(parts)
			await Promise.all(
				parts.map(async (p) => {
					// Two consumers under this runner's name would take each other's entries in hand.
					await draining.get(p)
					if (owned.has(p) && !consumers.has(p)) await consume(p)
				}),
			)
			logger.info({ partitions: parts }, 'claimed command partitions')
		},
		async release(parts, { lost }) {
			for (const p of parts) owned.delete(p)
			statusChanged()
			const gone = new Set(parts)
			const close = () =>
				lost
					? closeWhere((r) => gone.has(r.partition), 'lease_lost', 'this runner lost the partition lease; another runner takes the session over')
					: stopping
						? closeWhere((r) => gone.has(r.partition), 'runner_shutdown', 'the runner stopped; another runner (or this one, restarted) resumes the session')
						: closeWhere((r) => gone.has(r.partition), 'partition_released', 'another runner takes this session over')
			// Handing over, the commands in hand finish on the live sockets; losing the lease, the
			// sockets go first: the next owner may be connecting soon.
			if (lost) {
				await close()
				await stopConsuming(parts)
			} else {
				await stopConsuming(parts)
				await close()
			}
			logger.info({ partitions: parts, lost }, 'released command partitions')
		},
	})
	logger.info({ partitions: [...owned].sort((a, b) => a - b) }, 'runner started')

	return {
		runnerId,
		ownership: ownership.stats,
		async stop() {
			stopping = true
			await ownership.stop()
			// Sessions of no partition (none, unless a release failed) must not outlive the runner either.
			await stopConsuming([...consumers.keys()])
			await closeWhere(() => true, 'runner_shutdown', 'the runner stopped; another runner (or this one, restarted) resumes the session')
			restoreConsole()
			logger.info('runner stopped')
		},
	}
}
