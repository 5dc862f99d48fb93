import { Type as T, type TSchema } from '@sinclair/typebox'
import { TypeCompiler, type TypeCheck } from '@sinclair/typebox/compiler'
import { CommandData, isCommandType, type CommandDataOf, type CommandType } from './commands'
import { DomainEventData, isDomainEventType, type DomainEventType, type EventData } from './events'
import { IsoTime, Uuid } from './shapes'

export type EnvelopeType = DomainEventType | CommandType
type DataOf<K extends EnvelopeType> = K extends DomainEventType ? EventData<K> : K extends CommandType ? CommandDataOf<K> : never

/** The envelope of every stream entry. `id` is a uuid v7: the idempotency key of every consumer. */
export interface Envelope<K extends EnvelopeType = EnvelopeType> {
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

const envelopeSchema = (type: string, data: TSchema) =>
	T.Object({ id: Uuid, type: T.Literal(type), tenantId: Uuid, sessionId: Uuid, occurredAt: IsoTime, data })

/** One JSON schema per type, e.g. for OpenAPI/AsyncAPI documents of the WebSocket. */
const EnvelopeSchemas: Record<EnvelopeType, TSchema> = Object.fromEntries(
	[...Object.entries(DomainEventData), ...Object.entries(CommandData)].map(([type, data]) => [type, envelopeSchema(type, data)]),
) as unknown as Record<EnvelopeType, TSchema>

const checks = new Map<string, TypeCheck<TSchema>>(Object.entries(EnvelopeSchemas).map(([type, s]) => [type, TypeCompiler.Compile(s)]))

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

function build<K extends EnvelopeType>(type: K, meta: EnvelopeMeta, data: DataOf<K>): Envelope<K> {
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

/** A validated session command, e.g. `command('session.messages.send', { tenantId, sessionId }, { messageId, to, content })`. */
export const command = <K extends CommandType>(type: K, meta: EnvelopeMeta, data: CommandDataOf<K>) => build(type, meta, data as DataOf<K>)
