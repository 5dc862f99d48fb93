/** Whether `test` holds for the code of the error or of one of its causes (up to `depth` deep). */
function someCode(err: unknown, test: (code: string) => boolean, depth = 5): boolean {
	for (let e = err, d = 0; e && typeof e === 'object' && d < depth; e = (e as { cause?: unknown }).cause, d++) {
		const code = (e as { code?: unknown }).code
		if (typeof code === 'string' && test(code)) return true
	}
	return false
}

/**
 * Errors that are about Postgres, not about the data: the connection (SQLSTATE class 08,
 * postgres.js/socket codes), a server shutting down or out of resources (57P0x, 53xxx), and the
 * concurrency aborts a retry resolves (40001 serialization, 40P01 deadlock, 55P03 lock timeout).
 */
export const isTransientDbError = (err: unknown): boolean =>
	someCode(
		err,
		(code) =>
			/^(08|53|57P0)/.test(code) ||
			['40001', '40P01', '55P03'].includes(code) ||
			/^(CONNECTION_|CONNECT_TIMEOUT|ECONN|EPIPE|ETIMEDOUT|ENOTFOUND|EAI_AGAIN)/.test(code),
	)

/** postgres.js's codes for a connection that could not be made or was lost. */
const UNREACHABLE = new Set([
	'ECONNREFUSED',
	'ECONNRESET',
	'ETIMEDOUT',
	'EPIPE',
	'CONNECT_TIMEOUT',
	'CONNECTION_CLOSED',
	'CONNECTION_ENDED',
	'CONNECTION_DESTROYED',
])

/**
 * Whether a failure is the database being away (a restart, a network cut), not a fault of the
 * request or the code: those codes, and PostgreSQL's own (class 08, shutting down 57P01–57P03).
 */
export const isDatabaseUnreachable = (err: unknown): boolean =>
	someCode(err, (code) => UNREACHABLE.has(code) || code.startsWith('08') || code === '57P01' || code === '57P02' || code === '57P03', 4)
