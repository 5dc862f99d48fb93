/** Whether `test` holds for the code (and message) of the error or of one of its causes (up to `depth` deep). */
function someCode(err: unknown, test: (code: string, message: string) => boolean, depth = 5): boolean {
	for (let e = err, d = 0; e && typeof e === 'object' && d < depth; e = (e as { cause?: unknown }).cause, d++) {
		const { code, message } = e as { code?: unknown; message?: unknown }
		if (typeof code === 'string' && test(code, String(message ?? ''))) return true
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
 * PostgreSQL's refusals of a new connection: too many connections (53300), the database gone
 * (3D000) or closed to connections (55000, as `ALLOW_CONNECTIONS false` answers), the login
 * refused (28000, 28P01: a password changed under a running server).
 */
const REFUSED_CONNECTION = new Set(['53300', '3D000', '28000', '28P01'])

/**
 * Whether a failure is the database being away (a restart, a network cut, connections refused),
 * not a fault of the request or the code: those codes, and PostgreSQL's own (class 08, shutting
 * down 57P01–57P03, the refusals above).
 */
export const isDatabaseUnreachable = (err: unknown): boolean =>
	someCode(
		err,
		(code, message) =>
			UNREACHABLE.has(code) ||
			REFUSED_CONNECTION.has(code) ||
			code.startsWith('08') ||
			/^57P0[123]$/.test(code) ||
			// 55000 is other states' code too: only with this message is it a refused connection.
			(code === '55000' && message.includes('is not currently accepting connections')),
		4,
	)

/** A row named another that is gone (23503): a delete committed between a check and a write. */
export const isForeignKeyViolation = (err: unknown): boolean => someCode(err, (code) => code === '23503')
