/**
 * Errors that are about Postgres, not about the data: the connection (SQLSTATE class 08,
 * postgres.js/socket codes), a server shutting down or out of resources (57P0x, 53xxx), and the
 * concurrency aborts a retry resolves (40001 serialization, 40P01 deadlock, 55P03 lock timeout).
 */
export function isTransientDbError(err: unknown): boolean {
	for (let e = err, depth = 0; e && depth < 5; e = (e as { cause?: unknown }).cause, depth++) {
		const code = (e as { code?: unknown }).code
		if (typeof code !== 'string') continue
		if (/^(08|53|57P0)/.test(code) || ['40001', '40P01', '55P03'].includes(code)) return true
		if (/^(CONNECTION_|CONNECT_TIMEOUT|ECONN|EPIPE|ETIMEDOUT|ENOTFOUND|EAI_AGAIN)/.test(code)) return true
	}
	return false
}
