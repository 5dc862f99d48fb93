import { type TSchema, Type } from '@sinclair/typebox'

/**
 * `schema` or null, for API models. Elysia's `t.Nullable` builds the same union but also marks it
 * `nullable: true`, an OpenAPI 3.0 keyword that has no place in the 3.1 document; this one
 * validates the same values and has the same static type.
 */
export const Nullable = <T extends TSchema>(schema: T) => Type.Union([schema, Type.Null()])
