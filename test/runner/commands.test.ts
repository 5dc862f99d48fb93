import { describe, expect, it } from 'bun:test'
import pino from 'pino'
import type { Delivery } from '../../src/bus'
import {
	command,
	type Command,
	type CommandDataOf,
	type CommandType,
	type EventData,
	type MessageKey,
	type SendContent,
} from '../../src/core/catalogue'
import type { SessionStatus } from '../../src/core/session-status'
import type { RunnableSession, RunnerStore } from '../../src/db/runner-store'
import { createCommandExecutor } from '../../src/roles/runner/commands'
import { PartitionLost } from '../../src/roles/runner/errors'
import type { RunnerPublisher } from '../../src/roles/runner/publisher'
import { SessionRegistry } from '../../src/roles/runner/sessions'
import { NotConnectedError, type CloseReason, type OpenSessionOptions, type SessionConnection, type WhatsAppPort } from '../../src/whatsapp/port'
import { rejectionOf } from '../helpers/rejection'

/**
 * The runner's command executor and session registry on their own: a fake WhatsApp port, sessions
 * in memory, no Redis, no Postgres. What the role does end to end is tested against the stand-in
 * in the other files of this folder.
 */

const TENANT = '01970000-0000-7000-8000-000000000001'
const OTHER_TENANT = '01970000-0000-7000-8000-000000000002'
const SESSION = '01970000-0000-7000-8000-0000000000a1'
const SECOND = '01970000-0000-7000-8000-0000000000a2'
const TO = '4915100000001@s.whatsapp.net'

class FakeConnection implements SessionConnection {
	status: SessionStatus = 'starting'
	readonly sent: { to: string; content: SendContent; messageId: string }[] = []
	private onSend?: () => void
	readonly ended: Promise<SessionStatus>
	private end!: (status: SessionStatus) => void
	constructor(
		readonly sessionId: string,
		private readonly options: OpenSessionOptions,
	) {
		this.ended = new Promise((resolve) => (this.end = resolve))
	}
	/** Moves to `status` and tells the runner, as the Baileys driver does. */
	async become(status: SessionStatus) {
		this.status = status
		if (status === 'connected') await this.options.emit([{ type: 'session.status.connected', data: { jid: TO } }])
	}
	async send(to: string, content: SendContent, messageId: string) {
		if (this.status !== 'connected') throw new NotConnectedError(this.status)
		this.sent.push({ to, content, messageId })
		this.onSend?.()
		return { messageId, timestamp: 1 }
	}
	readonly read: { chatJid: string; ids: string[] }[] = []
	async markRead(chatJid: string, keys: readonly MessageKey[]) {
		if (this.status !== 'connected') throw new NotConnectedError(this.status)
		this.read.push({ chatJid, ids: keys.map((k) => k.id) })
	}
	readonly downloads: string[] = []
	async downloadMedia(mediaId: string) {
		if (this.status !== 'connected') throw new NotConnectedError(this.status)
		this.downloads.push(mediaId)
	}
	async manageGroup(): Promise<never> {
		throw new Error('groups are tested through the Baileys driver (test/groups)')
	}
	async checkNumbers(phoneNumbers: readonly string[]) {
		return phoneNumbers.map((phoneNumber) => ({ phoneNumber, exists: false }))
	}
	async profilePicture() {
		return null
	}
	async sendPresence() {}
	async subscribePresence() {}
	/** Resolves at the next message this connection sends. */
	nextSend(): Promise<void> {
		return new Promise((resolve) => (this.onSend = resolve))
	}
	async logout() {
		this.status = 'logged_out'
		this.end('logged_out')
	}
	async close(reason: CloseReason) {
		this.status = reason.status
		this.end(reason.status)
	}
}

function world(sessions: RunnableSession[] = [{ id: SESSION, tenantId: TENANT, phoneNumber: null, jid: TO, status: 'stopped' }]) {
	const opened: FakeConnection[] = []
	const port: WhatsAppPort = {
		open(options) {
			const connection = new FakeConnection(options.sessionId, options)
			opened.push(connection)
			return connection
		},
	}
	const sentIds = new Set<string>()
	const store: RunnerStore = {
		session: async (id) => sessions.find((s) => s.id === id),
		sessionsToRun: async () => sessions,
		isPaired: async () => true,
		wasSent: async (sessionId, messageId) => sentIds.has(`${sessionId} ${messageId}`),
		messageContent: async () => null,
	}
	const refused: { command: string; code: string }[] = []
	const disconnected: EventData<'session.status.disconnected'>[] = []
	const publisher: RunnerPublisher = {
		sessionEvents: async () => {},
		refused: async (cmd, code) => void refused.push({ command: cmd.type, code }),
		completed: async () => {},
		disconnected: async (_cmd, data) => void disconnected.push(data),
	}
	let held = true
	const holds = () => held
	const partitionOf = () => 0
	const registry = new SessionRegistry({
		port,
		auth: () => ({ load: async () => ({}) as never, clear: async () => {} }),
		store,
		publisher,
		metrics: { observe() {} },
		holds,
		partitionOf,
	})
	const queries = { answer: async () => {} }
	const executor = createCommandExecutor({
		sessions: registry,
		store,
		publisher,
		holds,
		partitionOf,
		queries,
		logger: pino({ level: 'silent' }),
		connectBacklogMs: () => 0,
	})
	let seq = 0
	const delivery = <K extends CommandType>(type: K, data: CommandDataOf<K>, meta: { tenantId?: string; sessionId?: string } = {}): Delivery => ({
		id: `1-${seq++}`,
		stream: 'session-commands:{0}',
		deliveries: 1,
		envelope: command(type, { tenantId: meta.tenantId ?? TENANT, sessionId: meta.sessionId ?? SESSION }, data) as Command,
	})
	return {
		opened,
		refused,
		disconnected,
		sentIds,
		executor,
		registry,
		delivery,
		release: () => {
			held = false
			registry.statusChanged()
		},
		send: (messageId: string, meta?: { tenantId?: string; sessionId?: string }) =>
			delivery('session.messages.send', { messageId, to: TO, content: { text: `text ${messageId}` } }, meta),
	}
}

describe("the runner's command executor", () => {
	it('opens one connection for a start, and none for a start of a session already running', async () => {
		const w = world()
		await w.executor.handle([w.delivery('session.start', {})])
		await w.executor.handle([w.delivery('session.start', {})])
		expect(w.opened).toHaveLength(1)
		expect(w.registry.isLive(SESSION)).toBe(true)
	})

	it("refuses a command for another tenant's session as if the session did not exist", async () => {
		const w = world()
		await w.executor.handle([w.delivery('session.start', {}, { tenantId: OTHER_TENANT })])
		expect(w.opened).toHaveLength(0)
		expect(w.refused).toEqual([{ command: 'session.start', code: 'session_not_found' }])
	})

	it('lets a send wait for its reconnecting session, then sends it once, even when the command comes again', async () => {
		const w = world()
		await w.executor.handle([w.delivery('session.start', {})])
		const connection = w.opened[0]!
		const sending = w.executor.handle([w.send('3EB0AAA')])
		await connection.become('connected')
		await sending
		await w.executor.handle([w.send('3EB0AAA')])
		expect(connection.sent.map((s) => s.messageId)).toEqual(['3EB0AAA'])
	})

	it('does not send a message that is stored as sent (a redelivery after a restart)', async () => {
		const w = world()
		await w.executor.handle([w.delivery('session.start', {})])
		await w.opened[0]!.become('connected')
		w.sentIds.add(`${SESSION} 3EB0BBB`)
		await w.executor.handle([w.send('3EB0BBB')])
		expect(w.opened[0]!.sent).toHaveLength(0)
	})

	it('leaves a waiting send to the next owner when the partition is released, and sends nothing', async () => {
		const w = world()
		await w.executor.handle([w.delivery('session.start', {})])
		const sending = w.executor.handle([w.send('3EB0CCC')])
		w.release()
		expect(await rejectionOf(sending)).toBeInstanceOf(PartitionLost)
		expect(w.opened[0]!.sent).toHaveLength(0)
		expect(w.refused).toHaveLength(0)
	})

	it('refuses a send to a session that does not run here', async () => {
		const w = world()
		await w.executor.handle([w.send('3EB0DDD')])
		expect(w.refused).toEqual([{ command: 'session.messages.send', code: 'session_not_connected' }])
	})

	it('runs the commands of one session in order and those of different sessions side by side', async () => {
		const w = world([
			{ id: SESSION, tenantId: TENANT, phoneNumber: null, jid: TO, status: 'stopped' },
			{ id: SECOND, tenantId: TENANT, phoneNumber: null, jid: TO, status: 'stopped' },
		])
		await w.executor.handle([w.delivery('session.start', {}), w.delivery('session.start', {}, { sessionId: SECOND })])
		const [first, second] = w.opened
		await second!.become('connected')
		// The first session's two sends wait for it; the second session's send does not wait behind them.
		const sentBySecond = second!.nextSend()
		const batch = w.executor.handle([w.send('3EB0001'), w.send('3EB0002'), w.send('3EB0003', { sessionId: SECOND })])
		await sentBySecond
		expect(first!.sent).toHaveLength(0)
		expect(second!.sent.map((s) => s.messageId)).toEqual(['3EB0003'])
		await first!.become('connected')
		await batch
		expect(first!.sent.map((s) => s.messageId)).toEqual(['3EB0001', '3EB0002'])
	})

	it('says a session that does not run here is stopped when asked to stop it', async () => {
		const w = world([{ id: SESSION, tenantId: TENANT, phoneNumber: null, jid: TO, status: 'connected' }])
		await w.executor.handle([w.delivery('session.stop', {})])
		expect(w.disconnected).toEqual([{ status: 'stopped', reason: 'stopped', message: 'stopped on request' }])
	})
})
