import { WA_CERT_DETAILS } from '@whiskeysockets/baileys'

/**
 * Makes every Baileys socket in this process accept noise certificates issued by the given root
 * (base64 of a 32-byte Curve25519 public key: the `WA_ROOT_PUBLIC_KEY` setting). Baileys reads
 * `WA_CERT_DETAILS.PUBLIC_KEY` during each handshake, and the object is a shared, writable export,
 * so this is process-wide: sockets for the real WhatsApp and for a stand-in cannot coexist.
 */
export function trustRootKey(base64PublicKey: string): void {
	const key = Buffer.from(base64PublicKey, 'base64')
	if (key.byteLength !== 32) throw new Error('WA root public key must be 32 bytes (base64)')
	WA_CERT_DETAILS.PUBLIC_KEY = key
}
