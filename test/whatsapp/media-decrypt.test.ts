import { describe, expect, it } from 'bun:test'
import { createHash } from 'node:crypto'
import { readFileSync, rmSync } from 'node:fs'
import { encryptedStream } from '@whiskeysockets/baileys'
import { decryptVerified, MediaVerificationError } from '../../src/whatsapp/media/decrypt'

/** The file as WhatsApp would send it: encrypted by Baileys' own uploader. */
async function encrypted(plain: Uint8Array, mediaType: 'image' | 'document' = 'image') {
	const out = await encryptedStream(Buffer.from(plain), mediaType)
	const bytes = new Uint8Array(readFileSync(out.encFilePath))
	rmSync(out.encFilePath, { force: true })
	return {
		bytes,
		secrets: { mediaKey: out.mediaKey, mediaType, fileEncSha256: out.fileEncSha256, fileSha256: out.fileSha256, fileLength: plain.byteLength },
	}
}

/** `bytes` in chunks of `size`, as a download delivers them. */
async function* chunked(bytes: Uint8Array, size: number) {
	for (let i = 0; i < bytes.byteLength; i += size) yield bytes.subarray(i, i + size)
}

async function collect(stream: AsyncIterable<Uint8Array>) {
	const parts: Uint8Array[] = []
	for await (const part of stream) parts.push(part)
	return Buffer.concat(parts)
}

const file = Uint8Array.from({ length: 200_003 }, (_, i) => (i * 7) % 256)

describe('decrypting a WhatsApp media file as it streams', () => {
	it.each([1, 7, 10, 16, 4096, 1_000_000])('gives back the plaintext whatever the chunk size (%p bytes)', async (size) => {
		const { bytes, secrets } = await encrypted(file)
		const plain = await collect(decryptVerified(chunked(bytes, size), secrets))
		expect(createHash('sha256').update(plain).digest('hex')).toBe(createHash('sha256').update(file).digest('hex'))
	})

	it.each([
		['a changed ciphertext byte', (b: Uint8Array) => b.map((v, i) => (i === 100 ? v ^ 1 : v)), 'mac_mismatch'],
		['a changed MAC byte', (b: Uint8Array) => b.map((v, i) => (i === b.byteLength - 1 ? v ^ 1 : v)), 'mac_mismatch'],
		['a cut file', (b: Uint8Array) => b.subarray(0, b.byteLength - 100), 'mac_mismatch'],
	] as const)('refuses %s, naming the check', async (_, tamper, check) => {
		const { bytes, secrets } = await encrypted(file)
		const error = await collect(decryptVerified(chunked(tamper(bytes), 4096), secrets)).catch((e) => e)
		expect(error).toBeInstanceOf(MediaVerificationError)
		expect((error as MediaVerificationError).check).toBe(check)
	})

	it('refuses a file whose announced hashes or length do not match what arrived', async () => {
		const { bytes, secrets } = await encrypted(file)
		const wrong = new Uint8Array(32).fill(9)
		for (const [changed, check] of [
			[{ fileEncSha256: wrong }, 'enc_sha256_mismatch'],
			[{ fileSha256: wrong }, 'sha256_mismatch'],
			[{ fileLength: file.byteLength + 1 }, 'size_mismatch'],
		] as const) {
			const error = await collect(decryptVerified(chunked(bytes, 4096), { ...secrets, ...changed })).catch((e) => e)
			expect((error as MediaVerificationError).check).toBe(check)
		}
	})

	it('derives its keys from the media type: an image key does not open a document', async () => {
		const { bytes, secrets } = await encrypted(file, 'document')
		const error = await collect(decryptVerified(chunked(bytes, 4096), { ...secrets, mediaType: 'image' })).catch((e) => e)
		expect((error as MediaVerificationError).check).toBe('mac_mismatch')
	})
})
