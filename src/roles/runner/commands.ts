import { LRUCache } from 'lru-cache'
import type { Delivery } from '../../bus'
import { isCommand, type Command } from '../../core/catalogue'
import type { RunnerStore } from '../../db/runner-store'
import type { Logger } from '../../logger'
import { SendRefused } from '../../whatsapp/media/outgoing'
import { NotConnectedError, type SessionConnection } from '../../whatsapp/port'
import { CommandRefused, PartitionLost } from './errors'
import { groupOperation, isGroupCommand } from './group-commands'
import type { RunnerPublisher } from './publisher'
import type { QueryAnswerer } from './queries'
import type { SessionRegistry } from './sessions'

/** Message ids sent per runner that are remembered without asking Postgres. */
const RECENT_SENDS = 50_000

/**
 * How long a send waits for its session to come up when it is starting or reconnecting (just
 * taken over, say) before it fails, beyond the session's wait for its turn to connect (after a
 * restart, a thousand sessions take their turns over many seconds). The partition's later
 * commands wait behind it meanwhile.
 */
const SEND_WAITS_FOR_CONNECTION_MS = 20_000

export interface CommandExecutorDeps {
	sessions: SessionRegistry
	store: RunnerStore
	publisher: RunnerPublisher
	holds(partition: number): boolean
	partitionOf(sessionId: string): number
	/** Answers queries (number checks, pictures) to whoever asked. */
	queries: QueryAnswerer
	/** How long a socket opened now would wait for its turn (`RUNNER_CONNECT_RATE`). */
	connectBacklogMs(): number
	logger: Logger
}

type Of<K extends Command['type']> = Extract<Command, { type: K }>

/**
 * Executes `session-commands`. Every command is idempotent, because the bus may deliver it again
 * (the runner died before acknowledging it, or a batch failed): a start of a running session, a
 * stop of a stopped one and a send of a sent message change nothing.
 */
export function createCommandExecutor(deps: CommandExecutorDeps) {
	const { sessions, store, publisher, holds, partitionOf, logger } = deps
	const recentSends = new LRUCache<string, true>({ max: RECENT_SENDS })

	async function sessionOf(cmd: Command) {
		const row = await store.session(cmd.sessionId)
		// Another tenant's session is as absent as a deleted one.
		if (!row || row.tenantId !== cmd.tenantId) throw new CommandRefused('session_not_found', 'no such session')
		return row
	}

	async function start(cmd: Of<'session.start'>) {
		if (sessions.isLive(cmd.sessionId)) return
		const row = await sessionOf(cmd)
		// A pairing code is for a session created with a phone number and never linked yet.
		const phone = cmd.data.phoneNumber ?? (row.jid ? undefined : row.phoneNumber?.replace(/\D/g, '') || undefined)
		sessions.open(cmd.sessionId, cmd.tenantId, phone)
		logger.info({ sessionId: cmd.sessionId, pairing: phone ? 'code' : 'qr-or-stored' }, 'session starting')
	}

	async function stop(cmd: Of<'session.stop'>) {
		const r = sessions.get(cmd.sessionId, cmd.tenantId)
		if (r) return await r.connection.close({ status: 'stopped', reason: 'stopped', message: 'stopped on request' })
		// Not running anywhere (this runner owns the partition): say so, unless the row already
		// tells the more useful story of a logout.
		const row = await sessionOf(cmd)
		if (row.status !== 'stopped' && row.status !== 'logged_out')
			await publisher.disconnected(cmd, { status: 'stopped', reason: 'stopped', message: 'stopped on request' })
	}

	async function logout(cmd: Of<'session.logout'>) {
		const r = sessions.get(cmd.sessionId, cmd.tenantId)
		if (r && sessions.isLive(cmd.sessionId)) return await r.connection.logout()
		await sessionOf(cmd)
		// Linked but not running: connect just long enough to tell WhatsApp.
		if (await store.isPaired(cmd.sessionId)) return await sessions.open(cmd.sessionId, cmd.tenantId).logout()
		await publisher.disconnected(cmd, { status: 'logged_out', reason: 'logged_out', message: 'logged out on request' })
	}

	async function send(cmd: Of<'session.messages.send'>) {
		const { messageId, to, content, replyTo } = cmd.data
		const sent = `${cmd.sessionId} ${messageId}`
		// A redelivered command (the runner died before acknowledging it) must not send twice.
		if (recentSends.has(sent) || (await store.wasSent(cmd.sessionId, messageId))) {
			logger.info({ sessionId: cmd.sessionId, messageId }, 'message already sent; ignoring the repeated command')
			return
		}
		await onConnection(cmd, 'send_failed', async (connection) => {
			await connection.send(to, content, messageId, replyTo ? { replyTo } : {})
			recentSends.set(sent, true)
		})
	}

	/**
	 * Runs `act` on the command's session once it is connected (waiting a while if it is coming up),
	 * turning a failure into a refusal, or into PartitionLost when the partition went meanwhile: a
	 * socket closed because the partition is going away leaves the command to the next owner.
	 */
	async function onConnection(cmd: Command, failure: string, act: (connection: SessionConnection) => Promise<void>) {
		const partition = partitionOf(cmd.sessionId)
		const r = sessions.get(cmd.sessionId, cmd.tenantId)
		if (r) await sessions.settled(r, SEND_WAITS_FOR_CONNECTION_MS + deps.connectBacklogMs())
		if (!holds(partition)) throw new PartitionLost(partition)
		if (!r) throw new CommandRefused('session_not_connected', 'the session is not running')
		try {
			await act(r.connection)
		} catch (err) {
			if (!holds(partition)) throw new PartitionLost(partition)
			if (err instanceof NotConnectedError) throw new CommandRefused('session_not_connected', err.message)
			if (err instanceof SendRefused) throw new CommandRefused(err.code, err.message)
			throw new CommandRefused(failure, (err as Error).message || String(err))
		}
	}

	async function read(cmd: Of<'session.chats.read'>) {
		// Receipts sent twice (a redelivered command) tell WhatsApp nothing new.
		await onConnection(cmd, 'read_failed', (connection) => connection.markRead(cmd.data.chatJid, cmd.data.keys))
	}

	async function downloadMedia(cmd: Of<'session.media.download'>) {
		// The file settles (stored or failed) with session.media.updated; a repeat finds it stored.
		await onConnection(cmd, 'download_failed', (connection) => connection.downloadMedia(cmd.data.mediaId))
	}

	async function presence(cmd: Of<'session.presence.send'>) {
		const { data } = cmd
		await onConnection(cmd, 'presence_failed', (connection) => connection.sendPresence(data.state, 'to' in data ? data.to : undefined))
	}

	async function subscribePresence(cmd: Of<'session.presence.subscribe'>) {
		await onConnection(cmd, 'presence_failed', (connection) => connection.subscribePresence(cmd.data.jid))
	}

	async function execute(cmd: Command) {
		try {
			if (isGroupCommand(cmd)) {
				const operation = groupOperation(cmd)
				let result: Awaited<ReturnType<SessionConnection['manageGroup']>> = {}
				await onConnection(cmd, 'group_command_failed', async (connection) => {
					result = await connection.manageGroup(operation)
				})
				return await publisher.completed(cmd, result)
			}
			switch (cmd.type) {
				case 'session.start':
					return await start(cmd)
				case 'session.stop':
					return await stop(cmd)
				case 'session.logout':
					return await logout(cmd)
				case 'session.messages.send':
					return await send(cmd)
				case 'session.chats.read':
					return await read(cmd)
				case 'session.media.download':
					return await downloadMedia(cmd)
				case 'session.presence.send':
					return await presence(cmd)
				case 'session.presence.subscribe':
					return await subscribePresence(cmd)
				case 'session.contacts.check':
				case 'session.profile_picture.get':
					return await deps.queries.answer(cmd)
			}
		} catch (err) {
			if (!(err instanceof CommandRefused)) throw err
			logger.info({ sessionId: cmd.sessionId, command: cmd.type, code: err.code }, err.message)
			await publisher.refused(cmd, err.code, err.message)
		}
	}

	return {
		/** Runs a batch: the commands of one session in order, different sessions in parallel. */
		async handle(batch: readonly Delivery[]): Promise<void> {
			const bySession = new Map<string, Command[]>()
			for (const { envelope } of batch) {
				if (!isCommand(envelope)) continue
				const list = bySession.get(envelope.sessionId)
				if (list) list.push(envelope)
				else bySession.set(envelope.sessionId, [envelope])
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
							if (err instanceof PartitionLost)
								logger.info({ sessionId: cmd.sessionId, command: cmd.type }, 'partition released; the next owner executes the command')
							else logger.error({ err, sessionId: cmd.sessionId, command: cmd.type }, 'command failed; it will be retried')
							errors.push(err)
							return
						}
					}
				}),
			)
			// Every command is idempotent, so the bus may redeliver the whole batch.
			if (errors.length) throw errors.find((err) => err instanceof PartitionLost) ?? errors[0]
		},
	}
}

export type CommandExecutor = ReturnType<typeof createCommandExecutor>
