import { createDecipheriv, createHash, createHmac, timingSafeEqual } from 'node:crypto'
import { getMediaKeys, type MediaType } from '@whiskeysockets/baileys'

const MAC_BYTES = 10

/** What a received message says of its file: checked against every byte that arrives. */
export interface MediaSecrets {
	mediaKey: Uint8Array
	/** Baileys' media type: which HKDF info string derives the keys (image, video, ptt, document, sticker, …). */
	mediaType: MediaType
	/** SHA-256 of the encrypted file with its MAC (base64 in the message, bytes here). */
	fileEncSha256?: Uint8Array
	/** SHA-256 of the plaintext. */
	fileSha256?: Uint8Array
	fileLength?: number
}

/** Why a downloaded file was refused; the reason names the check that failed. */
export type MediaCheck = 'mac_mismatch' | 'enc_sha256_mismatch' | 'sha256_mismatch' | 'size_mismatch' | 'undecryptable'

export class MediaVerificationError extends Error {
	override name = 'MediaVerificationError'
	constructor(readonly check: MediaCheck) {
		super(`the downloaded file failed its ${check.replace('_', ' ')} check`)
	}
}

const equal = (a: Uint8Array, b: Uint8Array) => a.byteLength === b.byteLength && timingSafeEqual(a, b)

/**
 * Decrypts a WhatsApp media file as it streams in and verifies it on the way: the 10-byte
 * truncated HMAC-SHA256 over iv‖ciphertext, the SHA-256 of the encrypted file (`fileEncSha256`),
 * the SHA-256 and length of the plaintext (`fileSha256`, `fileLength`). Baileys checks none of
 * them. Plaintext chunks come out as soon as they are decrypted, so a file is never held whole;
 * the checks complete at the end, where a failure throws MediaVerificationError, and the consumer
 * (the media store's writer) discards what it wrote.
 */
export async function* decryptVerified(encrypted: AsyncIterable<Uint8Array>, secrets: MediaSecrets): AsyncGenerator<Uint8Array> {
	const keys = await getMediaKeys(Buffer.from(secrets.mediaKey), secrets.mediaType)
	const [cipherKey, iv, macKey] = [keys.cipherKey, keys.iv, keys.macKey] as Buffer[] as [Buffer, Buffer, Buffer]
	const decipher = createDecipheriv('aes-256-cbc', cipherKey, iv)
	const mac = createHmac('sha256', macKey).update(iv)
	const encHash = createHash('sha256')
	const plainHash = createHash('sha256')
	let plainLength = 0
	// The last MAC_BYTES of the stream are the MAC, not ciphertext: hold them back until the end.
	let tail: Buffer = Buffer.alloc(0)
	const emit = (plain: Buffer) => {
		plainHash.update(plain)
		plainLength += plain.byteLength
		return plain
	}
	const decrypt = (body: Uint8Array) => {
		mac.update(body)
		return decipher.update(body)
	}
	for await (const chunk of encrypted) {
		encHash.update(chunk)
		if (chunk.byteLength >= MAC_BYTES) {
			// The held-back tail is ciphertext after all; this chunk's last bytes are held back in turn.
			// No concatenation: a copy of every chunk would double what a download allocates.
			if (tail.byteLength) {
				const plain = decrypt(tail)
				if (plain.byteLength) yield emit(plain)
			}
			const plain = decrypt(chunk.subarray(0, chunk.byteLength - MAC_BYTES))
			tail = Buffer.from(chunk.subarray(chunk.byteLength - MAC_BYTES))
			if (plain.byteLength) yield emit(plain)
			continue
		}
		const buffered = Buffer.concat([tail, chunk])
		const body = buffered.subarray(0, Math.max(0, buffered.byteLength - MAC_BYTES))
		tail = buffered.subarray(body.byteLength)
		if (!body.byteLength) continue
		const plain = decrypt(body)
		if (plain.byteLength) yield emit(plain)
	}
	if (tail.byteLength !== MAC_BYTES || !equal(mac.digest().subarray(0, MAC_BYTES), tail)) throw new MediaVerificationError('mac_mismatch')
	if (secrets.fileEncSha256 && !equal(encHash.digest(), secrets.fileEncSha256)) throw new MediaVerificationError('enc_sha256_mismatch')
	let last: Buffer
	try {
		last = decipher.final()
	} catch {
		throw new MediaVerificationError('undecryptable')
	}
	if (last.byteLength) yield emit(last)
	if (secrets.fileSha256 && !equal(plainHash.digest(), secrets.fileSha256)) throw new MediaVerificationError('sha256_mismatch')
	if (secrets.fileLength !== undefined && plainLength !== secrets.fileLength) throw new MediaVerificationError('size_mismatch')
}
