// libsignal ships without typings; the one function Switchboard calls.
declare module 'libsignal/src/curve.js' {
	/** True when `signature` verifies (`pubKey` in Signal's 33-byte form); throws on malformed input. */
	export function verifySignature(pubKey: Buffer, message: Buffer, signature: Buffer, isInit?: boolean): boolean
}
