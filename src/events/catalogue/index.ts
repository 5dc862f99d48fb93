import { Type as T, type Static, type TSchema } from '@sinclair/typebox'
import { TypeCompiler, type TypeCheck } from '@sinclair/typebox/compiler'
import { Chat, Contact, Jid, LidPnMapping, Message, MESSAGE_BATCH_MAX, MessageUpdate } from './shapes'

export * from './shapes'

/**
 * THE catalogue of what travels on the streams (DESIGN §2): every domain event and session
 * command, the schema of its `data`, and the envelope around it. Producers validate before they
 * publish; consumers validate what they read, and an entry that fails goes to the dead-letter
 * stream instead of reaching a handler.
 */

const Uuid = T.String({ pattern: '^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$' })
const IsoTime = T.String({ pattern: '^\\d{4}-\\d{2}-\\d{2}T\\d{2}:\\d{2}:\\d{2}(\\.\\d+)?(Z|[+-]\\d{2}:\\d{2})$' })
const Messages = T.Array(Message, { maxItems: MESSAGE_BATCH_MAX })

/** `data` of every `domain-events` type. */
export const DomainEventData = {
	/** The API created the session row (in the same transaction as this event). */
	'session.created': T.Object({
		name: T.String(),
		/** Set when the session pairs by code rather than QR. */
		phoneNumber: T.Optional(T.String()),
	}),
	/** The session and everything stored for it are gone. */
	'session.deleted': T.Object({}),
	'session.qr.updated': T.Object({
		qr: T.String({ minLength: 1 }),
		/** When WhatsApp stops accepting this QR (ISO-8601). */
		expiresAt: T.Optional(IsoTime),
	}),
	'session.pairing_code': T.Object({ code: T.String({ minLength: 1, maxLength: 16 }) }),
	'session.status.connected': T.Object({
		jid: Jid,
		lid: T.Optional(Jid),
		phoneNumber: T.Optional(T.String()),
		/** The account's own push name. */
		name: T.Optional(T.String()),
		/** The runner holding the socket (its id: `<host>:<pid>:<random>`), for operators. */
		runner: T.Optional(T.String({ maxLength: 256 })),
	}),
	'session.status.disconnected': T.Object({
		/** Where the session ends up: a transient drop is `reconnecting`, `sock.end()` is `stopped`. */
		status: T.Union([T.Literal('reconnecting'), T.Literal('stopped'), T.Literal('logged_out'), T.Literal('failed')]),
		/** Short machine name: `restart_required`, `connection_lost`, `timed_out`, `connection_replaced`, `logged_out`, `stopped`, … */
		reason: T.String({ minLength: 1, maxLength: 64 }),
		/** Baileys `DisconnectReason` / WebSocket status code when there was one. */
		code: T.Optional(T.Integer()),
		message: T.Optional(T.String({ maxLength: 2048 })),
	}),
	/** One batch of a history sync (`messaging-history.set` split into ≤ MESSAGE_BATCH_MAX messages). */
	'session.history.sync': T.Object({
		messages: Messages,
		chats: T.Array(Chat),
		contacts: T.Array(Contact),
		lidPnMappings: T.Array(LidPnMapping),
		syncType: T.Optional(T.String()),
		/** WhatsApp's progress of the whole sync, 0–100, when it sent one. */
		progress: T.Optional(T.Union([T.Number({ minimum: 0, maximum: 100 }), T.Null()])),
		isLatest: T.Optional(T.Boolean()),
		chunkOrder: T.Optional(T.Integer()),
		/** This batch's place among the batches one history chunk was split into. */
		part: T.Optional(T.Object({ index: T.Integer({ minimum: 0 }), count: T.Integer({ minimum: 1 }) })),
	}),
	'session.messages.upsert': T.Object({
		messages: Messages,
		/** `notify`: new, live; `append`: backlog or own sends. */
		type: T.Union([T.Literal('notify'), T.Literal('append')]),
	}),
	'session.messages.update': T.Object({ updates: T.Array(MessageUpdate, { maxItems: MESSAGE_BATCH_MAX }) }),
	'session.contacts.upsert': T.Object({ contacts: T.Array(Contact) }),
	'session.chats.upsert': T.Object({ chats: T.Array(Chat) }),
	/** A command could not be executed; `commandId` is the failed command's envelope id. */
	'session.command.failed': T.Object({
		commandId: Uuid,
		command: T.String(),
		error: T.Object({ code: T.String(), message: T.String() }),
		/** For `session.sendMessage`: the message that was not sent. */
		messageId: T.Optional(T.String()),
	}),
} satisfies Record<string, TSchema>

/** Content of an outgoing message; new kinds (media, reactions) join this union. */
export const SendContent = T.Union([T.Object({ text: T.String({ minLength: 1, maxLength: 65_536 }) })])
export type SendContent = Static<typeof SendContent>

/** `data` of every `session-commands` type. */
export const CommandData = {
	'session.start': T.Object({
		/** Pair by code for this number (digits, international form) instead of by QR. */
		phoneNumber: T.Optional(T.String({ pattern: '^\\d{6,20}$' })),
	}),
	'session.stop': T.Object({}),
	/** Log out and delete the credentials (session deletion). */
	'session.logout': T.Object({}),
	'session.sendMessage': T.Object({
		/** Chosen by the API (Baileys format: `3EB0` + 18 upper-case hex) so a retried send is idempotent. */
		messageId: T.String({ minLength: 1, maxLength: 128 }),
		to: Jid,
		content: SendContent,
	}),
} satisfies Record<string, TSchema>

export type DomainEventType = keyof typeof DomainEventData
export type CommandType = keyof typeof CommandData
export type MessageType = DomainEventType | CommandType
export type EventData<K extends DomainEventType> = Static<(typeof DomainEventData)[K]>
export type CommandDataOf<K extends CommandType> = Static<(typeof CommandData)[K]>
type DataOf<K extends MessageType> = K extends DomainEventType ? EventData<K> : K extends CommandType ? CommandDataOf<K> : never

/** The envelope of DESIGN §2. `id` is a uuid v7: the idempotency key of every consumer. */
export interface Envelope<K extends MessageType = MessageType> {
	id: string
	type: K
	tenantId: string
	sessionId: string
	/** ISO-8601. */
	occurredAt: string
	data: DataOf<K>
}

export type DomainEvent = { [K in DomainEventType]: Envelope<K> }[DomainEventType]
export type Command = { [K in CommandType]: Envelope<K> }[CommandType]
export type AnyEnvelope = DomainEvent | Command

export const DOMAIN_EVENT_TYPES = Object.keys(DomainEventData) as DomainEventType[]
export const COMMAND_TYPES = Object.keys(CommandData) as CommandType[]

const envelopeSchema = (type: string, data: TSchema) =>
	T.Object({ id: Uuid, type: T.Literal(type), tenantId: Uuid, sessionId: Uuid, occurredAt: IsoTime, data })

/** One JSON schema per type, e.g. for OpenAPI/AsyncAPI documents of the WebSocket. */
export const EnvelopeSchemas: Record<MessageType, TSchema> = Object.fromEntries(
	[...Object.entries(DomainEventData), ...Object.entries(CommandData)].map(([type, data]) => [type, envelopeSchema(type, data)]),
) as unknown as Record<MessageType, TSchema>

const checks = new Map<string, TypeCheck<TSchema>>(Object.entries(EnvelopeSchemas).map(([type, s]) => [type, TypeCompiler.Compile(s)]))

export const isDomainEventType = (type: string): type is DomainEventType => Object.hasOwn(DomainEventData, type)
export const isCommandType = (type: string): type is CommandType => Object.hasOwn(CommandData, type)
export const isDomainEvent = (e: AnyEnvelope): e is DomainEvent => isDomainEventType(e.type)
export const isCommand = (e: AnyEnvelope): e is Command => isCommandType(e.type)

export type Validation = { ok: true; envelope: AnyEnvelope } | { ok: false; error: string }

/** Checks any value against the catalogue; the error names the first few failing paths. */
export function validateEnvelope(value: unknown): Validation {
	const type = (value as { type?: unknown } | null)?.type
	if (typeof type !== 'string') return { ok: false, error: 'envelope has no type' }
	const check = checks.get(type)
	if (!check) return { ok: false, error: `unknown type ${JSON.stringify(type.slice(0, 100))}` }
	if (check.Check(value)) return { ok: true, envelope: value as AnyEnvelope }
	const problems = [...check.Errors(value)].slice(0, 3).map((e) => `${e.path || '/'}: ${e.message}`)
	return { ok: false, error: `invalid ${type}: ${problems.join('; ')}` }
}

/** Parses a stream entry's JSON; never throws. */
export function parseEnvelope(json: string | null | undefined): Validation {
	if (json == null) return { ok: false, error: 'entry has no envelope field' }
	let value: unknown
	try {
		value = JSON.parse(json)
	} catch (err) {
		return { ok: false, error: `not JSON: ${(err as Error).message}` }
	}
	return validateEnvelope(value)
}

export class InvalidEnvelopeError extends Error {
	override name = 'InvalidEnvelopeError'
}

/** Throws InvalidEnvelopeError: producers call this, a bad envelope is a bug at the source. */
export function assertEnvelope(value: unknown): asserts value is AnyEnvelope {
	const result = validateEnvelope(value)
	if (!result.ok) throw new InvalidEnvelopeError(result.error)
}

export interface EnvelopeMeta {
	tenantId: string
	sessionId: string
	/** Defaults to now. */
	occurredAt?: Date | string
	/** Defaults to a fresh uuid v7. */
	id?: string
}

function build<K extends MessageType>(type: K, meta: EnvelopeMeta, data: DataOf<K>): Envelope<K> {
	const envelope: Envelope<K> = {
		id: meta.id ?? Bun.randomUUIDv7(),
		type,
		tenantId: meta.tenantId,
		sessionId: meta.sessionId,
		occurredAt: meta.occurredAt instanceof Date ? meta.occurredAt.toISOString() : (meta.occurredAt ?? new Date().toISOString()),
		data,
	}
	assertEnvelope(envelope)
	return envelope
}

/** A validated domain event, e.g. `domainEvent('session.qr.updated', { tenantId, sessionId }, { qr })`. */
export const domainEvent = <K extends DomainEventType>(type: K, meta: EnvelopeMeta, data: EventData<K>) => build(type, meta, data as DataOf<K>)

/** A validated session command, e.g. `command('session.sendMessage', { tenantId, sessionId }, { messageId, to, content })`. */
export const command = <K extends CommandType>(type: K, meta: EnvelopeMeta, data: CommandDataOf<K>) => build(type, meta, data as DataOf<K>)
