import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto'

const VERSION = 1
const IV_BYTES = 12
const TAG_BYTES = 16

export class DecryptionError extends Error {
	override name = 'DecryptionError'
}

/**
 * AES-256-GCM with a random 96-bit IV per value. Layout: version (1 byte) | IV | tag | ciphertext.
 * `aad` binds a ciphertext to where it is stored (e.g. session id + key id), so a row copied to
 * another session or key fails authentication instead of being accepted.
 */
export function createCipher(key: Buffer) {
	if (key.length !== 32) throw new Error('encryption key must be 32 bytes')
	return {
		encrypt(plain: Buffer | string, aad: string): Buffer {
			const iv = randomBytes(IV_BYTES)
			const cipher = createCipheriv('aes-256-gcm', key, iv)
			cipher.setAAD(Buffer.from(aad))
			const body = Buffer.concat([cipher.update(plain), cipher.final()])
			return Buffer.concat([Buffer.of(VERSION), iv, cipher.getAuthTag(), body])
		},
		decrypt(blob: Buffer, aad: string): Buffer {
			if (blob.length < 1 + IV_BYTES + TAG_BYTES || blob[0] !== VERSION) throw new DecryptionError('unknown ciphertext format')
			const iv = blob.subarray(1, 1 + IV_BYTES)
			const tag = blob.subarray(1 + IV_BYTES, 1 + IV_BYTES + TAG_BYTES)
			const decipher = createDecipheriv('aes-256-gcm', key, iv)
			decipher.setAAD(Buffer.from(aad))
			decipher.setAuthTag(tag)
			try {
				return Buffer.concat([decipher.update(blob.subarray(1 + IV_BYTES + TAG_BYTES)), decipher.final()])
			} catch {
				throw new DecryptionError('cannot decrypt: wrong ENCRYPTION_KEY or tampered data')
			}
		},
	}
}

export type Cipher = ReturnType<typeof createCipher>
