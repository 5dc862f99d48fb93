import PQueue from 'p-queue'
import type { MessageKey } from '../../core/catalogue'
import type { MediaKind } from '../../core/media'
import type { Db } from '../../db/client'
import type { Logger } from '../../logger'
import { type MediaStore, MediaTooLargeError } from '../../media'
import { keepBlob, useBlob } from '../../media/blobs'
import type { IncomingMedia, MediaRecords } from '../../media/records'
import type { UploadedFile } from './outgoing'
import type { WhatsAppEvent } from '../port'
import { decryptVerified, MediaVerificationError } from './decrypt'

/** WhatsApp's media CDN; a message's own `url` names the host when it has one. */
const DEFAULT_HOST = 'mmg.whatsapp.net'
/** Downloads in flight per runner: enough to keep a burst of photos moving, few enough not to starve the sockets. */
const CONCURRENCY = 4
const ATTEMPTS = 3
/** Unfinished downloads a connecting session picks up again; older ones wait for a client to ask. */
const RESUME_MAX = 1000

/** What the session gives the fetcher: its event channel and, for expired files, WhatsApp's re-upload request. */
export interface MediaSession {
	emit(events: WhatsAppEvent[]): Promise<void>
	/** Asks the sender's phone to upload the file again; where it is now, or null when it cannot. */
	reupload(file: {
		messageKey: MessageKey
		kind: MediaKind
		mediaKey: Uint8Array
		directPath: string
		url?: string | null
	}): Promise<{ directPath: string; url?: string } | null>
}

export interface MediaFetcherOptions {
	db: Db
	store: MediaStore
	records: MediaRecords
	logger: Logger
	maxBytes: number
	download: 'eager' | 'on_demand' | 'off'
	/** How a file's bytes are fetched; the global fetch by default. */
	fetchFile?: (url: string) => Promise<Response>
	/** Hosts a message's `url` may name (each with its subdomains); WhatsApp's own by default. */
	mediaHosts?: readonly string[]
	/** Builds the download URL; `https://<host><directPath>` by default, as Baileys does. */
	urlOf?: (directPath: string, url?: string | null) => string
}

class Expired extends Error {}

/** Bytes of a download after which the garbage collector is asked to run. */
const COLLECT_EVERY = 8 * 1024 * 1024

/**
 * Passes a download's chunks through, asking the garbage collector to run every few megabytes.
 * Every chunk (received, decrypted, hashed) is a fresh buffer, and left to itself JavaScriptCore
 * collects them late: a 50 MB file would raise the runner's memory by nearly its own size, shared
 * by every session of the runner. The collection this asks for does not block the event loop.
 */
async function* collectingAsItGoes(chunks: AsyncIterable<Uint8Array>): AsyncGenerator<Uint8Array> {
	let sinceCollect = 0
	for await (const chunk of chunks) {
		sinceCollect += chunk.byteLength
		if (sinceCollect >= COLLECT_EVERY) {
			sinceCollect = 0
			Bun.gc(false)
		}
		yield chunk
	}
}

const MEDIA_TYPES: Record<MediaKind, 'image' | 'video' | 'audio' | 'document' | 'sticker'> = {
	image: 'image',
	video: 'video',
	audio: 'audio',
	document: 'document',
	sticker: 'sticker',
}

/**
 * `https://<host><directPath>`, the host taken from the message's `url` as Baileys does, but only
 * when it is one of `allowed`: the sender writes the URL, and the runner would otherwise make a
 * request to any host and port the sender names (its own network's, say). Any other host is read
 * as WhatsApp's default one.
 */
export function mediaUrl(allowed: readonly string[], directPath: string, url?: string | null): string {
	let host = DEFAULT_HOST
	try {
		const given = url ? new URL(url) : undefined
		if (given?.protocol === 'https:' && allowed.some((a) => given.hostname === a || given.hostname.endsWith(`.${a}`))) host = given.host
	} catch {}
	return `https://${host}${directPath.startsWith('/') ? directPath : `/${directPath}`}`
}

/**
 * Downloads the files of received messages into the media store: streamed, decrypted and
 * verified on the way (see decryptVerified), kept once per tenant and content. A file WhatsApp's
 * CDN no longer has (404, 410) is asked for again from the sender's phone and fetched from where
 * it lands; only then is it given up. Every change of state goes out as `session.media.updated`.
 */
export function createMediaFetcher(options: MediaFetcherOptions) {
	const { db, store, records, logger, maxBytes } = options
	const fetchFile = options.fetchFile ?? ((url: string) => fetch(url))
	const urlOf = options.urlOf ?? ((directPath: string, url?: string | null) => mediaUrl(options.mediaHosts ?? ['whatsapp.net'], directPath, url))
	const queue = new PQueue({ concurrency: CONCURRENCY })

	const updated = (
		id: string,
		message: MessageKey,
		data: Omit<Extract<WhatsAppEvent, { type: 'session.media.updated' }>['data'], 'id' | 'message'>,
	) => ({ type: 'session.media.updated', data: { id, message, ...data } }) as WhatsAppEvent

	async function fetchVerified(row: NonNullable<Awaited<ReturnType<MediaRecords['load']>>>, directPath: string, url: string | null) {
		const res = await fetchFile(urlOf(directPath, url))
		if (res.status === 404 || res.status === 410) {
			await res.body?.cancel()
			throw new Expired(`the CDN answered ${res.status}`)
		}
		if (!res.ok || !res.body) throw new Error(`the CDN answered ${res.status}`)
		const plain = decryptVerified(collectingAsItGoes(res.body as unknown as AsyncIterable<Uint8Array>), {
			mediaKey: row.mediaKey!,
			mediaType: MEDIA_TYPES[row.kind ?? 'document'],
			...(row.fileEncSha256 ? { fileEncSha256: Buffer.from(row.fileEncSha256, 'hex') } : {}),
			...(row.sha256 ? { fileSha256: Buffer.from(row.sha256, 'hex') } : {}),
			...(row.size !== null ? { fileLength: row.size } : {}),
		})
		return store.write(plain, { maxBytes, contentType: row.mimetype })
	}

	async function download(id: string, session: MediaSession): Promise<void> {
		const row = await records.load(id)
		if (!row || row.state === 'stored' || !row.mediaKey || !row.directPath || !row.sessionId) return
		const message: MessageKey = { remoteJid: row.chatJid!, fromMe: !!row.fromMe, id: row.messageId! }
		// Fetched and checked even when the tenant holds bytes of the announced SHA-256: the sender
		// writes that hash, and a message naming the hash of another chat's file must not be served
		// that file. Bytes the tenant holds already are stored once all the same (keepBlob).
		let { directPath, url } = row
		let reuploaded = false
		for (let attempt = 1; ; attempt++) {
			try {
				const object = await fetchVerified(row, directPath, url)
				await keepBlob(db, store, row.tenantId, object)
				await records.setState(id, 'stored', { size: object.size, sha256: object.sha256 })
				await session.emit([updated(id, message, { state: 'stored', size: object.size, sha256: object.sha256 })])
				return
			} catch (err) {
				if (err instanceof Expired && !reuploaded) {
					reuploaded = true
					await records.setState(id, 'expired', { failureReason: err.message })
					await session.emit([updated(id, message, { state: 'expired', reason: err.message })])
					const moved = await session
						.reupload({ messageKey: message, kind: row.kind ?? 'document', mediaKey: row.mediaKey, directPath, url })
						.catch((e: unknown) => {
							logger.info({ err: e, mediaId: id }, 'media re-upload request failed')
							return null
						})
					if (moved) {
						;({ directPath } = moved)
						url = moved.url ?? url
						await records.relocate(id, { directPath, url: url ?? undefined })
						continue
					}
				}
				const reason =
					err instanceof MediaVerificationError
						? err.check
						: err instanceof MediaTooLargeError
							? 'too_large'
							: err instanceof Expired
								? 'expired: re-upload failed'
								: undefined
				if (!reason && attempt < ATTEMPTS) {
					await Bun.sleep(500 * 2 ** attempt)
					continue
				}
				const failureReason = reason ?? `download_failed: ${(err as Error).message}`.slice(0, 256)
				logger.info({ mediaId: id, reason: failureReason }, 'media not stored')
				await records.setState(id, 'failed', { failureReason })
				await session.emit([updated(id, message, { state: 'failed', reason: failureReason })])
				return
			}
		}
	}

	// Files queued or downloading: a file asked for twice (on demand while queued, say) is fetched once.
	const queued = new Map<string, Promise<void>>()
	function enqueue(id: string, session: MediaSession): Promise<void> {
		const known = queued.get(id)
		if (known) return known
		const done = queue.add(() => download(id, session)).finally(() => queued.delete(id))
		queued.set(id, done)
		return done
	}
	const inBackground = (id: string, session: MediaSession) =>
		void enqueue(id, session).catch((err) => logger.error({ err, mediaId: id }, 'media download failed'))

	return {
		/** Records received files as pending, before their messages are published. */
		async record(files: readonly IncomingMedia[]): Promise<void> {
			await records.recordIncoming(files)
		},
		/**
		 * Records the file of a message this session sent from `upload` as stored, on the upload's
		 * object: its bytes are the tenant's already, so it is never downloaded, whatever
		 * MEDIA_DOWNLOAD says. False (nothing recorded) when the upload's object is gone.
		 */
		async recordSent(file: IncomingMedia, upload: UploadedFile): Promise<boolean> {
			// Marked used in the same statement that finds it, so the collector cannot take it before the row names it.
			const blob = await useBlob(db, file.tenantId, upload.sha256)
			if (!blob) return false
			// A document goes out under the name the send gave it; any other file keeps the upload's.
			const fileName = file.ref.fileName ?? upload.fileName
			await records.recordSent(file, { sha256: upload.sha256, size: blob.size, mimetype: upload.mimetype, fileName })
			return true
		},
		/** Under the eager policy, queues the download of recorded files, once their messages are out. */
		queue(files: readonly IncomingMedia[], session: MediaSession): void {
			if (options.download !== 'eager') return
			for (const file of files) inBackground(file.ref.id, session)
		},
		/**
		 * Under the eager policy, queues again the downloads of a session that a stop or crash cut
		 * short, the newest first; called when the session connects (re-upload requests need it).
		 */
		async resume(sessionId: string, session: MediaSession): Promise<void> {
			if (options.download !== 'eager') return
			for (const id of await records.unfinished(sessionId, RESUME_MAX)) inBackground(id, session)
		},
		/** Downloads one file now (the on-demand policy, or a retry), waiting for its turn in the queue. */
		fetch: enqueue,
		/** Resolves once every queued download is done. */
		idle: () => queue.onIdle(),
	}
}

export type MediaFetcher = ReturnType<typeof createMediaFetcher>
