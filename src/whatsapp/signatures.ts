import { createHash } from 'node:crypto'
import { Curve, generateSignalPubKey } from '@whiskeysockets/baileys'
import { verifySignature } from 'libsignal/src/curve.js'

/** Verified signatures remembered; the certificate chain of one server takes two. */
const REMEMBERED = 64
const verified = new Set<string>()
let installed = false

/** True only when `signature` is `publicKey`'s XEdDSA signature of `message`. */
function verifyStrictly(publicKey: Uint8Array, message: Uint8Array, signature: Uint8Array): boolean {
	try {
		return verifySignature(Buffer.from(generateSignalPubKey(publicKey)), message, signature) === true
	} catch {
		return false
	}
}

/**
 * Baileys checks XEdDSA signatures in two places: the server's noise certificate chain on every new
 * socket (is this WhatsApp, or someone in the middle?) and the account's signature over a new
 * companion's identity at pairing. Its `Curve.verify` (7.0.0-rc14) returns true for any
 * well-formed signature, because it drops the answer libsignal's `verifySignature` gives and only
 * fails when that throws. Replaced here by a check that keeps the answer.
 *
 * A check is a pure function of key, message and signature, so a passed one is remembered: the
 * chain is the same for every socket, and checking it in pure JavaScript costs 8–25 ms a signature
 * on a 2-core machine, most of a runner's CPU when it brings back a thousand sessions. `Curve` is a
 * shared, writable export of Baileys: this applies to this realm's sockets.
 */
export function verifySignaturesStrictly(): void {
	if (installed) return
	installed = true
	Curve.verify = (publicKey, message, signature) => {
		// The key's and the signature's lengths are hashed in: a triple cannot be re-cut into another.
		const key = createHash('sha256')
			.update(Uint8Array.of(publicKey.length, signature.length))
			.update(publicKey)
			.update(signature)
			.update(message)
			.digest('base64')
		if (verified.has(key)) return true
		const ok = verifyStrictly(publicKey, message, signature)
		if (ok) {
			if (verified.size >= REMEMBERED) verified.clear()
			verified.add(key)
		}
		return ok
	}
}
