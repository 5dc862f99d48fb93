import { WA_CERT_DETAILS } from '@whiskeysockets/baileys'

/**
 * Makes every Baileys socket in this test process accept the stand-in's noise certificates.
 * Baileys checks each handshake against `WA_CERT_DETAILS.PUBLIC_KEY`, a shared, writable export;
 * the server sets it from its `WA_ROOT_PUBLIC_KEY` setting, and these tests set it directly.
 */
export function trustRootKey(base64PublicKey: string): void {
	const key = Buffer.from(base64PublicKey, 'base64')
	if (key.byteLength !== 32) throw new Error('the root public key must be 32 bytes (base64)')
	WA_CERT_DETAILS.PUBLIC_KEY = key
}
