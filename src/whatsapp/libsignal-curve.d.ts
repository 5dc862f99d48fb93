// libsignal ships without typings; the one function Switchboard calls.
declare module 'libsignal/src/curve.js' {
	/** True when `signature` verifies (`pubKey` in Signal's 33-byte form); throws on malformed input. */
	export function verifySignature(pubKey: Uint8Array, message: Uint8Array, signature: Uint8Array, isInit?: boolean): boolean
}
