import { Readable } from 'node:stream'
import { Busboy } from '@fastify/busboy'
import { parse as parseDisposition } from 'content-disposition'
import { and, eq } from 'drizzle-orm'
import { ConflictError, InvalidInputError, NotFoundError } from '../../core/errors'
import { storable, storableExcerpt } from '../../lib/text'
import type { Db } from '../../db/client'
import { media } from '../../db/schema'
import { type ByteRange, type MediaStore, MediaTooLargeError, type StoredObject } from '../../media'
import { blobOf, keepBlob, storedBytes } from '../../media/blobs'
import { type VideoFacts, videoFactsReader } from '../../media/video-facts'
import { type VoiceFacts, voiceFactsReader } from '../../media/voice-facts'
import type { MediaUploaded } from './model'
import { enqueue, type Relay } from '../../bus'
import { command } from '../../core/catalogue'
import type { MediaState } from '../../core/media'
import { assertConnected, sessionStatus } from '../sessions/state'

export interface MediaServiceDeps {
	db: Db
	store: MediaStore
	maxBytes: number
	/** MEDIA_QUOTA_BYTES: bytes of files a tenant may keep before uploads are refused; 0: no bound. */
	quotaBytes: number
	/** MEDIA_DOWNLOAD: under `off` no received file is ever downloaded, on request neither. */
	download: 'eager' | 'on_demand' | 'off'
	/** Publishes a download request at once instead of at the relay's next tick. */
	relay?: Relay | null
}

/** A stored file as GET /media/:id serves it. */
export interface MediaFile {
	mimetype: string
	size: number
	sha256: string
	fileName: string | null
	read(range?: ByteRange): ReadableStream<Uint8Array>
}

/** What an upload's headers (a video) or decoded audio (Ogg Opus) say of it; a voice note's length is its audio's. */
type UploadFacts = Omit<VideoFacts, 'seconds'> & VoiceFacts

/** An upload as stored, with what its type and headers say of it. */
interface StoredPart {
	object: StoredObject
	facts: UploadFacts
	mimetype: string
	fileName: string | null
}

const MIMETYPE = /^[a-z0-9][a-z0-9!#$&^_.+-]{0,126}\/[a-z0-9][a-z0-9!#$&^_.+-]{0,126}$/

/**
 * The file name a raw upload gives in `Content-Disposition` (`filename*` decoded before `filename`),
 * without any folders, as a multipart part's name is read; null without one.
 */
function rawFileName(header: string | null): string | null {
	if (!header) return null
	const { parameters } = parseDisposition(header)
	const name = parameters.filename?.split(/[/\\]/).at(-1)
	// An encoded name that does not decode (not UTF-8 or Latin-1) is left undecoded by the parser.
	const problem =
		name === undefined && parameters['filename*'] !== undefined
			? "filename* must be UTF-8''<percent-encoded name>"
			: name !== undefined && !storable(name)
				? 'filename must be valid Unicode text without NUL characters'
				: null
	if (problem)
		throw new InvalidInputError('VALIDATION_FAILED', `The Content-Disposition header is invalid: its ${problem}`, [
			{ field: 'Content-Disposition', message: problem },
		])
	return name ? storableExcerpt(name, 255) : null
}

const tooLarge = (maxBytes: number) =>
	new InvalidInputError('MEDIA_TOO_LARGE', `The file is larger than ${maxBytes} bytes (MEDIA_MAX_BYTES)`, { maxBytes })

const overQuota = (quotaBytes: number, usedBytes: number) =>
	new ConflictError(
		'MEDIA_QUOTA_EXCEEDED',
		`This account's files take ${usedBytes} of the ${quotaBytes} bytes it may keep (MEDIA_QUOTA_BYTES), which leaves too little room for this file; delete uploads or messages with files to make room`,
		{ quotaBytes, usedBytes },
	)

/** How many bytes one upload may have, and what refuses one that has more. */
interface Allowance {
	bytes: number
	refusal: () => Error
}

/**
 * Files of a tenant: uploads to send, and what incoming messages carried. Bytes stream straight
 * to the media store (never whole in memory) and are kept once per tenant and content.
 */
export class MediaService {
	constructor(private readonly deps: MediaServiceDeps) {}

	/**
	 * Stores an upload: the raw body with its Content-Type, or the `file` part of a
	 * multipart/form-data body (its own type and file name).
	 */
	async upload(tenantId: string, request: Request): Promise<MediaUploaded> {
		// As sent: a multipart boundary is case-sensitive.
		const contentType = request.headers.get('content-type') ?? ''
		if (!request.body) throw new InvalidInputError('EMPTY_FILE', 'Send the file as the request body')
		const allowance = await this.allowance(tenantId)
		const multipart = contentType.toLowerCase().startsWith('multipart/form-data')
		const part = multipart
			? await this.fromMultipart(request, contentType, allowance)
			: await this.fromRaw(request, contentType.toLowerCase(), rawFileName(request.headers.get('content-disposition')), allowance)
		if (part.object.size === 0) {
			await this.deps.store.delete(part.object.key)
			throw new InvalidInputError('EMPTY_FILE', 'The file is empty')
		}
		await keepBlob(this.deps.db, this.deps.store, tenantId, part.object)
		const id = Bun.randomUUIDv7()
		const { size, sha256 } = part.object
		const { seconds, width, height, waveform } = part.facts
		await this.deps.db.insert(media).values({
			id,
			tenantId,
			origin: 'upload',
			mimetype: part.mimetype,
			size,
			sha256,
			fileName: part.fileName,
			state: 'stored',
			seconds,
			width,
			height,
			waveform: waveform ? Buffer.from(waveform) : null,
		})
		return {
			id,
			mimetype: part.mimetype,
			size,
			sha256,
			...(seconds === null ? {} : { seconds }),
			...(width === null || height === null ? {} : { width, height }),
			...(waveform ? { waveform: Buffer.from(waveform).toString('base64') } : {}),
		}
	}

	/**
	 * MEDIA_MAX_BYTES, or less when the tenant's quota has less room left. Uploads running at the
	 * same time each see the room as it was when they began, so together they may pass the quota by
	 * what they hold; the next upload is refused then.
	 */
	private async allowance(tenantId: string): Promise<Allowance> {
		const { maxBytes, quotaBytes } = this.deps
		const fullSize = { bytes: maxBytes, refusal: () => tooLarge(maxBytes) }
		if (!quotaBytes) return fullSize
		const used = await storedBytes(this.deps.db, tenantId)
		const room = quotaBytes - used
		if (room <= 0) throw overQuota(quotaBytes, used)
		return room < maxBytes ? { bytes: room, refusal: () => overQuota(quotaBytes, used) } : fullSize
	}

	private async fromRaw(request: Request, contentType: string, fileName: string | null, allowance: Allowance) {
		const mimetype = contentType.split(';')[0]!.trim()
		if (!MIMETYPE.test(mimetype))
			throw new InvalidInputError('MISSING_MEDIA_TYPE', 'Send the file with its Content-Type (e.g. image/jpeg), or as multipart/form-data')
		const { object, facts } = await this.write(request.body as unknown as AsyncIterable<Uint8Array>, mimetype, allowance)
		return { object, facts, mimetype, fileName }
	}

	private fromMultipart(request: Request, contentType: string, allowance: Allowance): Promise<StoredPart> {
		return new Promise((resolve, reject) => {
			let stored: Promise<StoredPart> | undefined
			let parser: ReturnType<typeof Busboy>
			try {
				// One byte past the limit, so the store's own counter is what refuses the file.
				parser = Busboy({
					headers: { 'content-type': contentType },
					limits: { files: 1, fileSize: allowance.bytes + 1, fields: 20, fieldSize: 4096 },
				})
			} catch {
				reject(new InvalidInputError('MALFORMED_BODY', 'The multipart body has no boundary'))
				return
			}
			parser.on('file', (field, stream, fileName, _encoding, mimetype) => {
				if (field !== 'file' || stored) {
					stream.resume()
					return
				}
				// A body cut off mid-file errors this stream as well as the parser; the parser's error
				// answers the request, and an error event nobody listens to would end the process.
				stream.on('error', () => {})
				const type = (mimetype || '').toLowerCase()
				stored = !MIMETYPE.test(type)
					? Promise.reject(new InvalidInputError('MISSING_MEDIA_TYPE', 'The file part needs a Content-Type (e.g. image/jpeg)'))
					: fileName && !storable(fileName)
						? Promise.reject(
								new InvalidInputError(
									'VALIDATION_FAILED',
									'The file part is invalid: its filename must be valid Unicode text without NUL characters',
									[{ field: 'file', message: 'filename must be valid Unicode text without NUL characters' }],
								),
							)
						: this.write(stream, type, allowance).then((written) => ({
								...written,
								mimetype: type,
								fileName: fileName ? storableExcerpt(fileName, 255) : null,
							}))
				// A refused file (too large) answers at once: the parser, its file stream given up, would
				// never finish reading a body that goes on.
				stored.catch((err) => {
					stream.resume()
					reject(err)
				})
			})
			// Past the one file allowed the parser skips the others; keeping only the first would drop them without a word.
			let more = false
			parser.on('filesLimit', () => {
				more = true
			})
			parser.on('error', () => {
				reject(new InvalidInputError('MALFORMED_BODY', 'The multipart body could not be read'))
				// What was stored of a file cut off mid-way belongs to no upload: nothing would ever collect it.
				void stored?.then(({ object }) => this.deps.store.delete(object.key)).catch(() => {})
			})
			parser.on('finish', () => {
				if (!stored) reject(new InvalidInputError('EMPTY_FILE', 'Send the file in a multipart field named `file`'))
				else if (more) {
					const refused = new InvalidInputError('TOO_MANY_FILES', 'Send one file per upload; this one has more than one')
					stored
						.then(({ object }) => this.deps.store.delete(object.key))
						.then(
							() => reject(refused),
							() => reject(refused),
						)
				} else stored.then(resolve, reject)
			})
			const body = Readable.fromWeb(request.body as never)
			// Answered early (a refused file), the rest of the body is given up: its stream then errors,
			// and an error event nobody listens to would end the process.
			body.on('error', () => {})
			body.pipe(parser)
		})
	}

	/**
	 * Streams a file to the store, reading on the way a video's length and size from its headers and
	 * an Ogg Opus file's length and waveform from its audio.
	 */
	private async write(
		body: AsyncIterable<Uint8Array>,
		contentType: string,
		allowance: Allowance,
	): Promise<{ object: StoredObject; facts: UploadFacts }> {
		const video = videoFactsReader(contentType)
		const voice = voiceFactsReader(contentType)
		async function* read() {
			for await (const chunk of body) {
				video.push(chunk)
				await voice.push(chunk)
				yield chunk
			}
		}
		try {
			const object = await this.deps.store.write(read(), { maxBytes: allowance.bytes, contentType })
			const { seconds, width, height } = video.facts()
			const sound = await voice.facts()
			return { object, facts: { seconds: seconds ?? sound.seconds, width, height, waveform: sound.waveform } }
		} catch (err) {
			voice.close()
			throw err instanceof MediaTooLargeError ? allowance.refusal() : err
		}
	}

	/** The tenant's stored file, ready to stream; another tenant's is as absent as an unknown one. */
	async open(tenantId: string, id: string): Promise<MediaFile> {
		const [row] = await this.deps.db
			.select({ mimetype: media.mimetype, sha256: media.sha256, fileName: media.fileName, state: media.state, failureReason: media.failureReason })
			.from(media)
			.where(and(eq(media.id, id), eq(media.tenantId, tenantId)))
		if (!row) throw NotFoundError.of('Media')
		const blob = row.state === 'stored' && row.sha256 ? await blobOf(this.deps.db, tenantId, row.sha256) : undefined
		if (!blob)
			throw new ConflictError(
				'MEDIA_NOT_STORED',
				`The file is not stored (state: ${row.state}${row.failureReason ? `: ${row.failureReason}` : ''}); ${this.howToStore(id)}`,
				{
					state: row.state,
					...(row.failureReason ? { reason: row.failureReason } : {}),
				},
			)
		const { store } = this.deps
		return {
			mimetype: row.mimetype,
			size: blob.size,
			sha256: row.sha256!,
			fileName: row.fileName,
			read: (range) => store.read(blob.storageKey, range),
		}
	}

	/**
	 * DELETE /media/:id: forgets an upload. Messages already sent with it keep their files (each has
	 * a record of its own); a send accepted before the delete that has not gone out yet fails
	 * (`media_not_found`). The bytes go with the media collector's next round once no file names them.
	 * A message's file is forgotten with its message (DELETE …/messages/:messageId?for=me).
	 */
	async remove(tenantId: string, id: string): Promise<void> {
		const mine = and(eq(media.id, id), eq(media.tenantId, tenantId))
		const removed = await this.deps.db
			.delete(media)
			.where(and(mine, eq(media.origin, 'upload')))
			.returning({ id: media.id })
		if (removed.length) return
		const [row] = await this.deps.db.select({ chatJid: media.chatJid, messageId: media.messageId }).from(media).where(mine)
		if (!row) throw NotFoundError.of('Media')
		throw new ConflictError(
			'MEDIA_IN_MESSAGE',
			`The file came with a message and goes with it: DELETE /chats/${row.chatJid}/messages/${row.messageId}?for=me forgets both`,
		)
	}

	/** What a client can do about a file that is not stored: never a download this server does not make. */
	private howToStore(id: string): string {
		if (this.deps.download === 'off') return 'received files are not downloaded on this server (MEDIA_DOWNLOAD=off)'
		return `POST /media/${id}/download fetches it from WhatsApp`
	}

	/**
	 * POST /media/:id/download: has the session's runner download a received file now (the
	 * on-demand policy, or another try after a failure). Answers the file's state; a stored file
	 * is not downloaded again.
	 */
	async requestDownload(tenantId: string, id: string): Promise<MediaState> {
		const requested = await this.deps.db.transaction(async (tx) => {
			const [row] = await tx
				.select({ state: media.state, sessionId: media.sessionId, origin: media.origin })
				.from(media)
				.where(and(eq(media.id, id), eq(media.tenantId, tenantId)))
			if (!row) throw NotFoundError.of('Media')
			// An upload came from the caller, not from WhatsApp: asking to download it is a mistake to name.
			if (row.origin !== 'incoming' || !row.sessionId)
				throw new ConflictError('MEDIA_NOT_DOWNLOADABLE', 'Only a file a message brought can be downloaded from WhatsApp; this one is an upload')
			if (row.state === 'stored') return { state: row.state, queued: false }
			if (this.deps.download === 'off')
				throw new ConflictError('MEDIA_DOWNLOAD_OFF', 'Received files are not downloaded on this server (MEDIA_DOWNLOAD=off)')
			assertConnected(await sessionStatus(tx, tenantId, row.sessionId))
			await enqueue(tx, command('session.media.download', { tenantId, sessionId: row.sessionId }, { mediaId: id }))
			return { state: row.state, queued: true }
		})
		if (requested.queued) this.deps.relay?.nudge()
		return requested.state
	}
}
