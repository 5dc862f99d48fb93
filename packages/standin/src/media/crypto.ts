import { createCipheriv, createDecipheriv, createHash, createHmac, hkdfSync, randomBytes, timingSafeEqual } from 'node:crypto'
import { open } from 'node:fs/promises'
import { proto } from '@whiskeysockets/baileys'

/** What the HKDF info string names: stickers use the image keys, gifs and round videos the video keys. */
export type MediaKeyKind = 'Image' | 'Video' | 'Audio' | 'Document'

/** Bytes to encrypt: in memory, a file path, or a stream (big files never need to be in memory). */
export type MediaSource = Uint8Array | string | ReadableStream<Uint8Array> | AsyncIterable<Uint8Array>

export interface MediaKeys {
	iv: Buffer
	cipherKey: Buffer
	macKey: Buffer
	refKey: Buffer
}

/** The key material of one file: mediaKey → HKDF-SHA256 (112 bytes) → iv 16, cipherKey 32, macKey 32, refKey 32. */
export function mediaKeys(mediaKey: Uint8Array, kind: MediaKeyKind): MediaKeys {
	const expanded = Buffer.from(hkdfSync('sha256', mediaKey, Buffer.alloc(0), `WhatsApp ${kind} Keys`, 112))
	return {
		iv: expanded.subarray(0, 16),
		cipherKey: expanded.subarray(16, 48),
		macKey: expanded.subarray(48, 80),
		refKey: expanded.subarray(80, 112),
	}
}

export interface EncryptedFile {
	mediaKey: Buffer
	/** sha256 of the plaintext. */
	fileSha256: Buffer
	/** sha256 of what the CDN serves (ciphertext ‖ mac). */
	fileEncSha256: Buffer
	/** Plaintext length. */
	fileLength: number
	/** Length of what the CDN serves. */
	encryptedLength: number
}

/**
 * Encrypts `source` into `path` as WhatsApp stores media: AES-256-CBC (PKCS#7) then the first 10
 * bytes of HMAC-SHA256(macKey, iv ‖ ciphertext). Streams chunk by chunk, so a file source is never
 * whole in memory. `tamper` spoils the file for tests of the receiver's checks:
 * - `ciphertext`: a byte of the first block flips after the hashes and the MAC were computed, so
 *   the MAC and fileEncSha256 no longer match and the plaintext decrypts wrong;
 * - `mac`: the appended MAC is wrong, while fileEncSha256 covers the bytes as served, so only a
 *   MAC check notices.
 */
export async function encryptToFile(
	source: MediaSource,
	kind: MediaKeyKind,
	path: string,
	tamper?: 'ciphertext' | 'mac',
	mediaKey: Buffer = randomBytes(32),
): Promise<EncryptedFile> {
	const { iv, cipherKey, macKey } = mediaKeys(mediaKey, kind)
	const cipher = createCipheriv('aes-256-cbc', cipherKey, iv)
	const hmac = createHmac('sha256', macKey).update(iv)
	const plainHash = createHash('sha256')
	const encHash = createHash('sha256')
	const file = await open(path, 'w+')
	let fileLength = 0
	let encryptedLength = 0
	const write = async (bytes: Uint8Array) => {
		if (!bytes.byteLength) return
		encHash.update(bytes)
		encryptedLength += bytes.byteLength
		await file.write(bytes)
	}
	try {
		for await (const chunk of chunksOf(source)) {
			fileLength += chunk.byteLength
			plainHash.update(chunk)
			const encrypted = cipher.update(chunk)
			hmac.update(encrypted)
			await write(encrypted)
		}
		const last = cipher.final()
		hmac.update(last)
		await write(last)
		const mac = hmac.digest().subarray(0, 10)
		if (tamper === 'mac') for (let index = 0; index < mac.length; index++) mac[index] = (mac[index] ?? 0) ^ 0xff
		await write(mac)
		if (tamper === 'ciphertext') await file.write(Buffer.from([flipped(await byteAt(file, 0))]), 0, 1, 0)
	} finally {
		await file.close()
	}
	return { mediaKey, fileSha256: plainHash.digest(), fileEncSha256: encHash.digest(), fileLength, encryptedLength }
}

export interface VerifiedFile {
	/** The last 10 bytes are the HMAC of iv ‖ ciphertext. */
	mac: boolean
	/** sha256 of the whole encrypted file equals the message's fileEncSha256. */
	fileEncSha256: boolean
	/** sha256 of the decrypted bytes equals the message's fileSha256. */
	fileSha256: boolean
	/** The decrypted length equals the message's fileLength. */
	fileLength: boolean
	/** Hex sha256 and length of what decrypted, when it did. */
	sha256?: string
	size?: number
	error?: string
}

/**
 * Decrypts an encrypted upload into `plaintextPath`, streaming, and checks it against what the
 * message claims. Never throws for bad media: a failed check or a padding error is the answer.
 */
export async function decryptAndVerify(
	encryptedPath: string,
	claimed: { mediaKey: Uint8Array; kind: MediaKeyKind; fileEncSha256?: Uint8Array | null; fileSha256?: Uint8Array | null; fileLength?: number },
	plaintextPath: string,
): Promise<VerifiedFile> {
	const encrypted = Bun.file(encryptedPath)
	const size = encrypted.size
	const result: VerifiedFile = { mac: false, fileEncSha256: false, fileSha256: false, fileLength: false }
	if (size < 10 + 16) return { ...result, error: `the file is too short to be encrypted media (${size} bytes)` }
	const { iv, cipherKey, macKey } = mediaKeys(claimed.mediaKey, claimed.kind)
	const hmac = createHmac('sha256', macKey).update(iv)
	const encHash = createHash('sha256')
	const plainHash = createHash('sha256')
	const decipher = createDecipheriv('aes-256-cbc', cipherKey, iv)
	const output = await open(plaintextPath, 'w')
	let plainLength = 0
	try {
		for await (const chunk of encrypted.slice(0, size - 10).stream()) {
			hmac.update(chunk)
			encHash.update(chunk)
			const plain = decipher.update(chunk)
			plainHash.update(plain)
			plainLength += plain.byteLength
			await output.write(plain)
		}
		const mac = Buffer.from(await encrypted.slice(size - 10).arrayBuffer())
		encHash.update(mac)
		result.mac = timingSafeEqual(hmac.digest().subarray(0, 10), mac)
		result.fileEncSha256 = sameBytes(encHash.digest(), claimed.fileEncSha256)
		const last = decipher.final()
		plainHash.update(last)
		plainLength += last.byteLength
		await output.write(last)
		result.sha256 = plainHash.digest('hex')
		result.size = plainLength
		result.fileSha256 = sameBytes(Buffer.from(result.sha256, 'hex'), claimed.fileSha256)
		result.fileLength = plainLength === Number(claimed.fileLength ?? -1)
	} catch (error) {
		result.error = error instanceof Error ? error.message : String(error)
	} finally {
		await output.close()
	}
	return result
}

/** The AES-GCM key of the re-upload request and its answer: HKDF(mediaKey, 32, "WhatsApp Media Retry Notification"). */
function retryKey(mediaKey: Uint8Array): Buffer {
	return Buffer.from(hkdfSync('sha256', mediaKey, Buffer.alloc(0), 'WhatsApp Media Retry Notification', 32))
}

/** Opens the `ServerErrorReceipt` of a `<receipt type="server-error">` (AAD: the message id); throws when it does not authenticate. */
export function openRetryRequest(ciphertext: Uint8Array, iv: Uint8Array, mediaKey: Uint8Array, messageId: string): proto.ServerErrorReceipt {
	return proto.ServerErrorReceipt.decode(gcmOpen(ciphertext, retryKey(mediaKey), iv, Buffer.from(messageId)))
}

/** Seals the `MediaRetryNotification` the phone sends back once it re-uploaded (or failed to). */
export function sealRetryNotification(
	notification: proto.IMediaRetryNotification,
	mediaKey: Uint8Array,
	messageId: string,
): { ciphertext: Buffer; iv: Buffer } {
	const iv = randomBytes(12)
	const plaintext = proto.MediaRetryNotification.encode(notification).finish()
	return { ciphertext: gcmSeal(plaintext, retryKey(mediaKey), iv, Buffer.from(messageId)), iv }
}

/**
 * A poll vote as the voter's phone encrypts it (the inverse of Baileys' `decryptPollVote`):
 * key = HMAC(HMAC(0³², messageSecret), pollId ‖ creatorJid ‖ voterJid ‖ "Poll Vote" ‖ 0x01),
 * AES-256-GCM with AAD `pollId \0 voterJid`; the plaintext lists sha256 of each chosen option's name.
 */
export function encryptPollVote(
	options: string[],
	ctx: { messageSecret: Uint8Array; pollId: string; creatorJid: string; voterJid: string },
): { encPayload: Buffer; encIv: Buffer } {
	const sign = Buffer.concat([
		Buffer.from(ctx.pollId),
		Buffer.from(ctx.creatorJid),
		Buffer.from(ctx.voterJid),
		Buffer.from('Poll Vote'),
		Buffer.from([1]),
	])
	const key0 = createHmac('sha256', Buffer.alloc(32)).update(ctx.messageSecret).digest()
	const key = createHmac('sha256', key0).update(sign).digest()
	const vote = proto.Message.PollVoteMessage.encode({ selectedOptions: options.map((option) => sha256(option)) }).finish()
	const encIv = randomBytes(12)
	return { encPayload: gcmSeal(vote, key, encIv, Buffer.from(`${ctx.pollId}\u0000${ctx.voterJid}`)), encIv }
}

export function sha256(data: string | Uint8Array): Buffer {
	return createHash('sha256').update(data).digest()
}

function gcmSeal(plaintext: Uint8Array, key: Buffer, iv: Buffer, aad: Buffer): Buffer {
	const cipher = createCipheriv('aes-256-gcm', key, iv)
	cipher.setAAD(aad)
	return Buffer.concat([cipher.update(plaintext), cipher.final(), cipher.getAuthTag()])
}

function gcmOpen(sealed: Uint8Array, key: Buffer, iv: Uint8Array, aad: Buffer): Buffer {
	const bytes = Buffer.from(sealed)
	const decipher = createDecipheriv('aes-256-gcm', key, iv)
	decipher.setAAD(aad)
	decipher.setAuthTag(bytes.subarray(bytes.length - 16))
	return Buffer.concat([decipher.update(bytes.subarray(0, bytes.length - 16)), decipher.final()])
}

async function* chunksOf(source: MediaSource): AsyncIterable<Uint8Array> {
	if (typeof source === 'string') yield* Bun.file(source).stream()
	else if (source instanceof Uint8Array) yield source
	else yield* source as AsyncIterable<Uint8Array>
}

async function byteAt(file: Awaited<ReturnType<typeof open>>, position: number): Promise<number> {
	const buffer = Buffer.alloc(1)
	await file.read(buffer, 0, 1, position)
	return buffer[0] ?? 0
}

function flipped(byte: number): number {
	return byte ^ 0x01
}

function sameBytes(actual: Buffer, claimed: Uint8Array | null | undefined): boolean {
	return !!claimed && claimed.byteLength === actual.byteLength && timingSafeEqual(actual, Buffer.from(claimed))
}
