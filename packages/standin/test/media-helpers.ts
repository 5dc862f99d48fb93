import { createHash, createHmac } from 'node:crypto'
import { downloadMediaMessage, getMediaKeys, type MediaType, type WAMessage } from '@whiskeysockets/baileys'

export const sha256 = (bytes: Uint8Array): string => createHash('sha256').update(bytes).digest('base64')

/** Test bytes that differ per call and are not one repeated block (so a tampered block shows). */
export function bytesOf(length: number, seed: number): Buffer {
	const bytes = Buffer.alloc(length)
	for (let index = 0; index < length; index++) bytes[index] = (index * 31 + seed * 17 + (index >> 8)) & 0xff
	return bytes
}

/** Baileys' own download (through the CDN and the CA trust) into a buffer. */
export async function download(message: WAMessage): Promise<Buffer> {
	return (await downloadMediaMessage(message, 'buffer', {})) as Buffer
}

/**
 * What a careful receiver checks and Baileys does not: the 10-byte MAC over iv ‖ ciphertext and
 * fileEncSha256 over the whole served file. Fetches the encrypted file itself.
 */
export async function checkServedFile(
	url: string,
	media: { mediaKey?: Uint8Array | null; fileEncSha256?: Uint8Array | null },
	type: MediaType,
): Promise<{ mac: boolean; fileEncSha256: boolean; contentLength: number; bodyLength: number }> {
	const response = await fetch(url)
	const body = Buffer.from(await response.arrayBuffer())
	const { iv, macKey } = await getMediaKeys(media.mediaKey, type)
	const mac = createHmac('sha256', macKey!).update(iv).update(body.subarray(0, -10)).digest().subarray(0, 10)
	return {
		mac: mac.equals(body.subarray(-10)),
		fileEncSha256: sha256(body) === Buffer.from(media.fileEncSha256 ?? []).toString('base64'),
		contentLength: Number(response.headers.get('content-length')),
		bodyLength: body.byteLength,
	}
}
