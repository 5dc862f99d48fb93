import type { Logger } from '../logger'

/**
 * libsignal (under Baileys) prints whole Signal sessions — chain and root keys included — with
 * console.info/warn whenever it opens, closes or prunes one. Those lines must not reach a log
 * shipper. While installed, they become one debug line without the session object; any other
 * console output passes through unchanged.
 */
const LIBSIGNAL_LINES =
	/^(Closing session|Opening session|Removing old closed session|Migrating session to|Session already (closed|open)|Closing open session in favor|Decrypted message with closed session)/

let installed = 0
let original: { info: typeof console.info; warn: typeof console.warn } | undefined

export function quietLibsignal(logger: Logger): () => void {
	if (installed++ === 0) {
		original = { info: console.info, warn: console.warn }
		const wrap =
			(pass: (...args: unknown[]) => void) =>
			(...args: unknown[]) => {
				if (typeof args[0] === 'string' && LIBSIGNAL_LINES.test(args[0])) logger.debug({ libsignal: args[0] }, 'libsignal')
				else pass(...args)
			}
		console.info = wrap(original.info)
		console.warn = wrap(original.warn)
	}
	let restored = false
	return () => {
		if (restored) return
		restored = true
		if (--installed === 0 && original) {
			console.info = original.info
			console.warn = original.warn
		}
	}
}
