import { Elysia, t } from 'elysia'

/** OpenAPI model of every error response. */
const ErrorModel = t.Object({
	error: t.Object({
		code: t.String({ examples: ['VALIDATION_FAILED'] }),
		message: t.String(),
		details: t.Optional(t.Unknown()),
	}),
})

/** Registers the `Error` reference model; modules `.use()` it to write `response: { 404: 'Error' }`. */
export const errorModel = new Elysia({ name: 'error-model' }).model({ Error: ErrorModel })

/**
 * The error answers a route documents, each with the `Error` body: `errorResponses(400, 404)` is
 * `{ 400: 'Error', 404: 'Error' }`, spread beside the route's success answers.
 */
export const errorResponses = <const Status extends number>(...statuses: Status[]) =>
	Object.fromEntries(statuses.map((status) => [status, 'Error'])) as { [S in Status]: 'Error' }
