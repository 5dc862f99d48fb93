/**
 * A request refused before any service sees it (its encoding, size or media type): plugins throw
 * it with the status it gets. Services throw domain errors instead.
 */
export class RequestError extends Error {
	constructor(
		readonly status: number,
		readonly code: string,
		message: string,
		readonly details?: unknown,
	) {
		super(message)
		this.name = 'RequestError'
	}
}
