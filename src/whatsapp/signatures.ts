import { createHash } from 'node:crypto'
import { Curve } from '@whiskeysockets/baileys'

/** Verified signatures remembered; the certificate chain of one server takes two. */
const REMEMBERED = 64
const verified = new Set<string>()
let installed = false

/**
 * Baileys checks the server's noise certificate chain on every new socket: two XEdDSA signature
 * checks in pure JavaScript, 8–25 ms each on a 2-core machine. The chain is the same for every
 * socket, so a runner bringing back a thousand sessions spent most of its CPU proving the same
 * two facts again. A check is a pure function of key, message and signature, so a remembered
 * answer is the answer: this keeps Baileys' verdicts (in 7.0.0-rc14 every well-formed signature
 * passes, because `Curve.verify` drops the boolean libsignal returns) and only stops paying for
 * them twice. `Curve` is a shared, writable export of Baileys: this applies to this realm's sockets.
 */
export function rememberVerifiedSignatures(): void {
	if (installed) return
	installed = true
	const verify = Curve.verify
	Curve.verify = (publicKey, message, signature) => {
		// The key's and the signature's lengths are hashed in: a triple cannot be re-cut into another.
		const key = createHash('sha256')
			.update(Uint8Array.of(publicKey.length, signature.length))
			.update(publicKey)
			.update(signature)
			.update(message)
			.digest('base64')
		if (verified.has(key)) return true
		const ok = verify(publicKey, message, signature)
		if (ok) {
			if (verified.size >= REMEMBERED) verified.clear()
			verified.add(key)
		}
		return ok
	}
}
