import { type TSchema, Type } from '@sinclair/typebox'

/**
 * `schema` or null, for API models. Elysia's `t.Nullable` builds the same union but also marks it
 * `nullable: true`, an OpenAPI 3.0 keyword that has no place in the 3.1 document; this one
 * validates the same values and has the same static type.
 */
export const Nullable = <T extends TSchema>(schema: T) => Type.Union([schema, Type.Null()])

/**
 * A uuid, any version, either case. A pattern rather than `format: 'uuid'`: it checks the same
 * whoever registered TypeBox's formats.
 */
export const UUID_PATTERN = '^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$'

/**
 * A uuid a request carries, read in lower case. Past the database (which compares uuids in either
 * case) an id is text: a command's partition is a hash of it, credentials are bound to it, events
 * and webhook filters name it. The same id in upper case would be another session there. Only in
 * requests: a transform in an answer's schema makes Elysia encode every answer value by value.
 */
export const UuidInput = (options: { description?: string; examples?: string[] } = {}) =>
	Type.Transform(Type.String({ pattern: UUID_PATTERN, description: 'uuid', ...options }))
		.Decode((value) => value.toLowerCase())
		.Encode((value) => value)

/** A name on one line: no control characters (line breaks, tabs, C1 controls). */
export const SINGLE_LINE_PATTERN = '^[^\\u0000-\\u001F\\u007F-\\u009F]+$'

/** A token of printable ASCII, without spaces (an idempotency key). */
export const TOKEN_PATTERN = '^[\\x21-\\x7E]+$'

/** What a value failing each pattern of the API should be, in words: error messages say this, never the regex. */
export const PATTERN_MEANINGS: Readonly<Record<string, string>> = {
	[UUID_PATTERN]: 'must be a UUID',
	[SINGLE_LINE_PATTERN]: 'must be one line, without control characters',
	[TOKEN_PATTERN]: 'must be printable ASCII without spaces',
	'^\\d+-\\d+$': 'must be a stream position (<ms>-<seq>)',
	'^[a-z0-9_.*]+$': 'must be an event type or a glob (lowercase letters, digits, _ . and *)',
}
