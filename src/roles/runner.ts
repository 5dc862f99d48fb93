import { proto } from '@whiskeysockets/baileys'
import { and, eq, ne } from 'drizzle-orm'
import { sessionAuth, sessionMessages, sessions } from '../db/schema'
import type { Delivery, GroupConsumer } from '../events/bus'
import { domainEvent, isCommand, type Command, type DomainEvent } from '../events/catalogue'
import { commandPartition, partitionStream } from '../events/streams'
import { runnerMetrics } from '../modules/metrics/roles'
import { createCipher } from '../lib/crypto'
import { trustRootKey } from '../standin/trust'
import { deleteAuthState, loadPostgresAuthState } from '../whatsapp/auth-state'
import { createBaileysPort } from '../whatsapp/baileys'
import { quietLibsignal } from '../whatsapp/libsignal-console'
import { NotConnectedError, type SessionEvent, type WhatsAppPort, type WhatsAppSession } from '../whatsapp/port'
import { ownAllPartitions, type PartitionOwnership } from './runner-ownership'
import type { RoleDeps, RoleHandle } from './types'

/** The consumer group of runners on `session-commands:{p}`; the partition's owner reads it. */
export const RUNNER_GROUP = 'session-runner'

/** Message ids sent per runner that are remembered without asking Postgres. */
const RECENT_SENDS = 50_000

export interface RunnerOptions {
	/** Defaults to the Baileys driver configured from `WA_*` settings. */
	port?: WhatsAppPort
	/** Defaults to owning every partition (one runner per deployment, until issue 9's leases). */
	ownership?: PartitionOwnership
}

interface Running {
	session: WhatsAppSession
	tenantId: string
	partition: number
}

/** Envelope meta for an event about a command's session: a fresh id and time, never the command's. */
const metaOf = (cmd: Command) => ({ tenantId: cmd.tenantId, sessionId: cmd.sessionId })

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
export async function start(deps: RoleDeps, options: RunnerOptions = {}): Promise<RoleHandle> {
	const { config, logger, database, bus } = deps
	const db = database.db
	// Baileys keeps the trusted noise root in a module global: this realm (Worker or main thread)
	// sets it for its own sockets.
	if (config.waRootPublicKey) trustRootKey(config.waRootPublicKey)
	const restoreConsole = quietLibsignal(logger)
	const port =
		options.port ??
		createBaileysPort({ logger, websocketUrl: config.waWebSocketUrl, reconnect: config.waReconnect })
	const ownership = options.ownership ?? ownAllPartitions(config.events.commandPartitions)
	const recorded = runnerMetrics(deps.metrics)
	recorded.watchOwnership(ownership)
	const cipher = createCipher(config.encryptionKey)
	const partitions = config.events.commandPartitions
	const partitionOf = (sessionId: string) => commandPartition(sessionId, partitions)

	const running = new Map<string, Running>()
	const owned = new Set<number>()
	const recentSends = new Set<string>()
	let consumer: GroupConsumer | undefined
	let stopping = false

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

	function envelopes(tenantId: string, sessionId: string, events: SessionEvent[]): DomainEvent[] {
		const out: DomainEvent[] = []
		for (const e of events) {
			try {
				out.push(domainEvent(e.type, { tenantId, sessionId }, e.data as never) as DomainEvent)
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
					...(cmd.type === 'session.sendMessage' ? { messageId: cmd.data.messageId } : {}),
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

	function open(sessionId: string, tenantId: string, phoneNumber?: string): WhatsAppSession {
		const partition = partitionOf(sessionId)
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

	async function sendMessage(cmd: Extract<Command, { type: 'session.sendMessage' }>) {
		const { messageId, to, content } = cmd.data
		// A redelivered command (the runner died before acknowledging it) must not send twice.
		if (await alreadySent(cmd.sessionId, messageId)) {
			logger.info({ sessionId: cmd.sessionId, messageId }, 'message already sent; ignoring the repeated command')
			return
		}
		const r = running.get(cmd.sessionId)
		if (!r || r.tenantId !== cmd.tenantId) throw new CommandRefused('session_not_connected', 'the session is not running')
		try {
			await r.session.send(to, content, messageId)
			rememberSend(cmd.sessionId, messageId)
		} catch (err) {
			if (err instanceof NotConnectedError) throw new CommandRefused('session_not_connected', err.message)
			throw new CommandRefused('send_failed', (err as Error).message || String(err))
		}
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
				case 'session.sendMessage':
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
			if (!isCommand(envelope) || !owned.has(partitionOf(envelope.sessionId))) continue
			bySession.set(envelope.sessionId, [...(bySession.get(envelope.sessionId) ?? []), envelope])
		}
		const errors: unknown[] = []
		await Promise.all(
			[...bySession.values()].map(async (commands) => {
				for (const cmd of commands) {
					try {
						await execute(cmd)
					} catch (err) {
						logger.error({ err, sessionId: cmd.sessionId, command: cmd.type }, 'command failed; it will be retried')
						errors.push(err)
						return
					}
				}
			}),
		)
		// Every command is idempotent, so the bus may redeliver the whole batch.
		if (errors.length) throw errors[0]
	}

	// ── ownership ───────────────────────────────────────────────────────────────────────────

	async function consume() {
		await consumer?.stop()
		consumer = undefined
		if (stopping || !owned.size) return
		consumer = await bus.consume({
			group: RUNNER_GROUP,
			streams: [...owned].sort((a, b) => a - b).map(partitionStream),
			claimIdleMs: config.events.claimIdleMs,
			maxDeliveries: config.events.maxDeliveries,
			handle,
		})
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
			if (!wanted.has(partitionOf(row.id)) || isLive(running.get(row.id))) continue
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
			for (const p of parts) owned.add(p)
			await resume(parts)
			await consume()
			logger.info({ partitions: parts.length }, 'claimed command partitions')
		},
		async release(parts) {
			for (const p of parts) owned.delete(p)
			await consume()
			const lost = new Set(parts)
			await closeWhere((r) => lost.has(r.partition), 'partition_released', 'another runner takes this session over')
			logger.info({ partitions: parts.length }, 'released command partitions')
		},
	})
	logger.info({ partitions: owned.size }, 'runner started')

	return {
		async stop() {
			stopping = true
			await consumer?.stop()
			await closeWhere(() => true, 'runner_shutdown', 'the runner stopped; the session resumes when a runner starts')
			await ownership.stop()
			restoreConsole()
			logger.info('runner stopped')
		},
	}
}
