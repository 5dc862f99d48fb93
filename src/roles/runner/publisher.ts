import type { Bus } from '../../bus'
import { domainEvent, type Command, type DomainEvent, type EventData } from '../../core/catalogue'
import { replaceUnstorableText } from '../../lib/text'
import type { Logger } from '../../logger'
import type { WhatsAppEvent } from '../../whatsapp/port'

const ATTEMPTS = 5

export interface RunnerPublisher {
	/** Wraps what a session emitted in envelopes and publishes them, in order. */
	sessionEvents(tenantId: string, sessionId: string, events: readonly WhatsAppEvent[]): Promise<void>
	/** `session.command.failed` for a command this runner refuses. */
	refused(cmd: Command, code: string, message: string): Promise<void>
	/** `session.command.completed` with what a command answered. */
	completed(cmd: Command, result: EventData<'session.command.completed'>['result']): Promise<void>
	/** `session.status.disconnected` for a session that is not running here (a command's, or one taken over). */
	disconnected(session: Pick<Command, 'tenantId' | 'sessionId'>, data: EventData<'session.status.disconnected'>): Promise<void>
}

/**
 * Everything the runner says goes out through here. A publish that fails is retried with backoff
 * before the error reaches the session (whose next batch then waits): Redis blips must not lose a
 * session's events or reorder them.
 */
export function createRunnerPublisher({ bus, logger, runnerId }: { bus: Bus; logger: Logger; runnerId: string }): RunnerPublisher {
	async function publish(envelopes: DomainEvent[]) {
		if (!envelopes.length) return
		// WhatsApp's text may hold a NUL or a lone surrogate, which PostgreSQL refuses: one would
		// fail every write of the consumer's batch, and the event would end up dead-lettered.
		for (const envelope of envelopes) replaceUnstorableText(envelope.data)
		for (let attempt = 1; ; attempt++) {
			try {
				await bus.publish(envelopes)
				return
			} catch (err) {
				if (attempt >= ATTEMPTS) throw err
				logger.warn({ err, attempt }, 'publishing failed; retrying')
				await Bun.sleep(100 * 2 ** attempt)
			}
		}
	}

	/** Envelope meta for an event about a command's session: a fresh id and time, never the command's. */
	const about = (cmd: Pick<Command, 'tenantId' | 'sessionId'>) => ({ tenantId: cmd.tenantId, sessionId: cmd.sessionId })

	return {
		sessionEvents(tenantId, sessionId, events) {
			const envelopes: DomainEvent[] = []
			for (const e of events) {
				// Operators see which runner holds a session (`ownerRunner`) from its connected event.
				const data = e.type === 'session.status.connected' ? { ...e.data, runner: runnerId } : e.data
				try {
					envelopes.push(domainEvent(e.type, { tenantId, sessionId }, data as never) as DomainEvent)
				} catch (err) {
					// A payload the catalogue refuses is a mapping bug. The items it refuses are dropped, not
					// the 500 messages beside them: WhatsApp is told they arrived, and never sends them again.
					const kept = validItems(data as Record<string, unknown>, (d) => domainEvent(e.type, { tenantId, sessionId }, d as never))
					logger.error({ err, sessionId, type: e.type, dropped: kept ? kept.dropped : 'all' }, 'dropping what the catalogue refuses')
					if (kept) envelopes.push(kept.event as DomainEvent)
				}
			}
			return publish(envelopes)
		},
		refused: (cmd, code, message) =>
			publish([
				domainEvent('session.command.failed', about(cmd), {
					commandId: cmd.id,
					command: cmd.type,
					error: { code, message },
					...(cmd.type === 'session.messages.send' ? { messageId: cmd.data.messageId } : {}),
				}),
			]),
		completed: (cmd, result) => publish([domainEvent('session.command.completed', about(cmd), { commandId: cmd.id, command: cmd.type, result })]),
		disconnected: (cmd, data) => publish([domainEvent('session.status.disconnected', about(cmd), data)]),
	}
}

/**
 * The event with only the items of its lists that the catalogue takes, each checked alone (the
 * other lists empty), or null when that does not make it valid either (or there was no item to
 * drop). `dropped` counts the items left out.
 */
function validItems(data: Record<string, unknown>, build: (data: Record<string, unknown>) => unknown): { event: unknown; dropped: number } | null {
	const lists = Object.keys(data).filter((key) => Array.isArray(data[key]))
	const empty = Object.fromEntries(lists.map((key) => [key, []]))
	const accepts = (candidate: Record<string, unknown>) => {
		try {
			build(candidate)
			return true
		} catch {
			return false
		}
	}
	let dropped = 0
	const kept: Record<string, unknown> = { ...data }
	for (const key of lists) {
		const items = data[key] as unknown[]
		kept[key] = items.filter((item) => accepts({ ...data, ...empty, [key]: [item] }))
		dropped += items.length - (kept[key] as unknown[]).length
	}
	if (!dropped) return null
	try {
		return { event: build(kept), dropped }
	} catch {
		return null
	}
}
