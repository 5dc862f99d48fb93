import { RequestError } from './request-error'

/**
 * A body's fields (or query parameters) its route does not have, refused by name: Elysia would
 * drop them without a word.
 */
export function unknownFields(fields: readonly string[], where: 'body' | 'query string' = 'body'): RequestError {
	const named = `${fields
		.slice(0, 5)
		.map((f) => `\`${f.slice(0, 64)}\``)
		.join(', ')}${fields.length > 5 ? ', …' : ''}`
	const noun = where === 'body' ? 'field' : 'parameter'
	const verb = fields.length === 1 ? `is not a ${noun}` : `are not ${noun}s`
	return new RequestError(
		400,
		'UNKNOWN_FIELD',
		`${named} ${verb} of this request's ${where} (the API reference at /swagger lists them); nothing was done`,
		{
			fields: fields.slice(0, 20),
		},
	)
}

/**
 * The fields each request's body was sent with (`poll.options`, `contacts[0].name`), noted by the
 * input plugin before validation: validation drops the fields a route does not have.
 */
export const sentFields = new WeakMap<Request, string[]>()

/**
 * For a body that failed validation: the fields it was sent with that its route's schema does not
 * have, as an `UNKNOWN_FIELD` refusal. A misspelt field is then what the answer names (`enabeld`),
 * not the missing field it was meant to be (`needs at least one of: …, enabled`). Only the
 * outermost object's fields are compared; deeper ones are named once the body validates.
 */
export function unknownFieldsOfInvalid(error: { type: string; validator: unknown }, request: Request): RequestError | null {
	const schema = (error.validator as { schema?: { type?: string; properties?: Record<string, unknown> } } | null)?.schema
	if (error.type !== 'body' || schema?.type !== 'object' || !schema.properties) return null
	const unknown = (sentFields.get(request) ?? []).filter((field) => !/[.[]/.test(field) && !Object.hasOwn(schema.properties!, field))
	return unknown.length ? unknownFields(unknown) : null
}
