import { and, desc, eq, inArray, sql } from 'drizzle-orm'
import type { MediaRef } from '../core/catalogue'
import type { MediaState } from '../core/media'
import type { Db } from '../db/client'
import { media } from '../db/schema'
import type { Cipher } from '../lib/crypto'

/** What fetching a received file from WhatsApp takes; the key is stored encrypted. */
export interface MediaLocation {
	mediaKey: Uint8Array
	directPath: string
	url?: string
	fileEncSha256?: string
}

/** A message's file, as the runner records it before downloading (or, sent from an upload, as stored). */
export interface IncomingMedia {
	tenantId: string
	sessionId: string
	chatJid: string
	messageId: string
	fromMe: boolean
	ref: MediaRef
	location: MediaLocation
}

/** What the tenant already stores of a file this session sent from an upload: the upload's object, type and name. */
export interface StoredCopy {
	sha256: string
	size: number
	mimetype: string
	fileName: string | null
}

const keyAad = (id: string) => `media:${id}`
/** Rows per insert of received files (a history chunk may carry hundreds). */
const RECORD_CHUNK = 500

/** The media rows of messages' files: the runner writes them, the API reads them. */
export function mediaRecords(db: Db, cipher: Cipher) {
	/** A message's file as pending, with what fetching it from WhatsApp takes. */
	const rowOf = ({ ref, location, ...m }: IncomingMedia) => ({
		id: ref.id,
		tenantId: m.tenantId,
		origin: 'incoming' as const,
		sessionId: m.sessionId,
		chatJid: m.chatJid,
		messageId: m.messageId,
		fromMe: m.fromMe,
		kind: ref.kind,
		mimetype: ref.mimetype,
		size: ref.size ?? null,
		sha256: ref.sha256 ?? null,
		fileName: ref.fileName ?? null,
		width: ref.width ?? null,
		height: ref.height ?? null,
		seconds: ref.seconds ?? null,
		pages: ref.pages ?? null,
		state: 'pending' as const,
		mediaKey: cipher.encrypt(Buffer.from(location.mediaKey), keyAad(ref.id)),
		directPath: location.directPath,
		url: location.url ?? null,
		fileEncSha256: location.fileEncSha256 ?? null,
	})
	return {
		/** Records received files as pending, many rows a statement; a row recorded before (a redelivered message) is kept as it is. */
		async recordIncoming(files: readonly IncomingMedia[]): Promise<void> {
			for (let i = 0; i < files.length; i += RECORD_CHUNK) {
				const rows = files.slice(i, i + RECORD_CHUNK).map(rowOf)
				await db.insert(media).values(rows).onConflictDoNothing()
			}
		},

		/**
		 * Records the file of a message this session sent from an upload as stored, on the object the
		 * upload names: the tenant has its bytes, so there is nothing to download. A row recorded
		 * before as pending (the sent message seen again) becomes stored too.
		 */
		async recordSent(file: IncomingMedia, copy: StoredCopy): Promise<void> {
			const stored = { state: 'stored' as const, failureReason: null, ...copy }
			await db
				.insert(media)
				.values({ ...rowOf(file), ...stored })
				.onConflictDoUpdate({ target: media.id, set: { ...stored, updatedAt: sql`now()` }, setWhere: sql`${media.state} <> 'stored'` })
		},

		/** The row's state and where to fetch it from, the media key decrypted. */
		async load(id: string) {
			const [row] = await db.select().from(media).where(eq(media.id, id))
			if (!row) return undefined
			const mediaKey = row.mediaKey ? cipher.decrypt(row.mediaKey, keyAad(id)) : undefined
			return { ...row, mediaKey }
		},

		async setState(id: string, state: MediaState, fields: { failureReason?: string | null; size?: number; sha256?: string } = {}): Promise<void> {
			await db
				.update(media)
				.set({
					state,
					failureReason: fields.failureReason ?? null,
					...(fields.size !== undefined ? { size: fields.size } : {}),
					...(fields.sha256 ? { sha256: fields.sha256 } : {}),
					updatedAt: sql`now()`,
				})
				.where(eq(media.id, id))
		},

		/** Received files of a session whose download never finished (the runner stopped meanwhile). */
		async unfinished(sessionId: string, limit: number): Promise<string[]> {
			const rows = await db
				.select({ id: media.id })
				.from(media)
				.where(and(eq(media.sessionId, sessionId), eq(media.origin, 'incoming'), inArray(media.state, ['pending', 'expired'])))
				.orderBy(desc(media.createdAt))
				.limit(limit)
			return rows.map((r) => r.id)
		},

		/** Where WhatsApp keeps the file now, after a re-upload. */
		async relocate(id: string, location: { directPath: string; url?: string }): Promise<void> {
			await db
				.update(media)
				.set({ directPath: location.directPath, url: location.url ?? null, updatedAt: sql`now()` })
				.where(and(eq(media.id, id)))
		},
	}
}

export type MediaRecords = ReturnType<typeof mediaRecords>
