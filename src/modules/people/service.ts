import { and, eq, sql } from 'drizzle-orm'
import { enqueue, NoAnswerError, QueryFailedError, type Relay, type Requester } from '../../bus'
import {
	type AnyEnvelope,
	type ChatState,
	command,
	type CommandDataOf,
	type OwnPresence,
	type QueryAnswer,
	type QueryParams,
	type QueryType,
} from '../../core/catalogue'
import { InvalidInputError, NotFoundError, UnavailableError, UpstreamError, UpstreamTimeoutError } from '../../core/errors'
import { isGroupJid, normalizePhoneNumber, normalizeRecipient } from '../../core/jid'
import type { Db } from '../../db/client'
import { profilePictures } from '../../db/schema'
import type { Limit } from '../../lib/rate-limits'
import { blobOf } from '../../media/blobs'
import type { ByteRange, MediaStore } from '../../media'
import type { SessionsService } from '../sessions/service'
import { assertConnected, sessionStatus } from '../sessions/state'
import type { NumberCheckResult, PresenceAccepted } from './model'

export interface PeopleServiceDeps {
	db: Db
	sessions: Pick<SessionsService, 'resolveId'>
	/** Asks a session's runner; null in an app without a bus (no runner can be asked). */
	requester: Requester | null
	relay?: Relay | null
	store: MediaStore
	/** Numbers checked per session and window. */
	numberChecks: Limit
	numberCheckMaxNumbers: number
	pictureTtlSeconds: number
}

/** A profile picture as GET /contacts/:jid/picture serves it. */
export interface PictureFile {
	mimetype: string
	size: number
	sha256: string
	fetchedAt: Date
	/** Seconds the cache keeps it from now. */
	freshForSeconds: number
	read(range?: ByteRange): ReadableStream<Uint8Array>
}

const invalidJid = () =>
	new InvalidInputError('INVALID_JID', 'Name a user (…@s.whatsapp.net, …@lid, or a phone number with its country code) or a group (…@g.us)')

/**
 * People through a session: which numbers are on WhatsApp, their profile pictures, presence. Checks
 * and pictures ask the session's runner and wait for its answer (src/bus/requests.ts); presence
 * goes out as commands, as sends do.
 */
export class PeopleService {
	constructor(private readonly deps: PeopleServiceDeps) {}

	/**
	 * POST /sessions/:id/contacts/check: each number as written, in order. A number that is not one
	 * (no country code, letters) answers `exists: false` with `reason: invalid_number` rather than
	 * failing the whole batch; WhatsApp is asked about the others, each once, in one lookup.
	 */
	async checkNumbers(tenantId: string, sessionId: string, phoneNumbers: readonly string[]): Promise<NumberCheckResult[]> {
		const max = this.deps.numberCheckMaxNumbers
		if (phoneNumbers.length > max)
			throw new InvalidInputError('TOO_MANY_NUMBERS', `Check at most ${max} numbers at a time (NUMBER_CHECK_MAX_NUMBERS)`, {
				max,
				given: phoneNumbers.length,
			})
		assertConnected(await sessionStatus(this.deps.db, tenantId, sessionId))
		const digits = phoneNumbers.map((input) => normalizePhoneNumber(input))
		const asked = [...new Set(digits.filter((d): d is string => d !== null))]
		const found = new Map<string, QueryAnswer<'session.contacts.check'>['results'][number]>()
		if (asked.length) {
			// Counted before WhatsApp is asked: the limit protects the account, not the server.
			await this.deps.numberChecks.consume(sessionId, asked.length)
			const answer = await this.ask('session.contacts.check', tenantId, sessionId, { phoneNumbers: asked })
			for (const r of answer.results) found.set(r.phoneNumber, r)
		}
		return phoneNumbers.map((input, i) => {
			const d = digits[i]
			if (!d) return { input, exists: false, jid: null, lid: null, reason: 'invalid_number' }
			const r = found.get(d)
			return { input, exists: !!r?.exists, jid: r?.exists ? (r.jid ?? `${d}@s.whatsapp.net`) : null, lid: (r?.exists && r.lid) || null }
		})
	}

	/**
	 * GET /contacts/:jid/picture: the cached picture while it is fresh, else fetched through the
	 * session's runner and cached (also when there is none: 404 NO_PICTURE until the TTL passes).
	 */
	async picture(tenantId: string, jidInput: string, sessionId: string | undefined): Promise<PictureFile> {
		const jid = normalizeRecipient(jidInput)
		if (!jid) throw invalidJid()
		const sid = await this.deps.sessions.resolveId(tenantId, sessionId)
		const ttl = this.deps.pictureTtlSeconds
		const [cached] = await this.deps.db
			.select()
			.from(profilePictures)
			.where(
				and(
					eq(profilePictures.sessionId, sid),
					eq(profilePictures.jid, jid),
					sql`${profilePictures.fetchedAt} > now() - make_interval(secs => ${ttl})`,
				),
			)
		let row = cached
		let blob = row?.sha256 ? await blobOf(this.deps.db, tenantId, row.sha256) : undefined
		if (!row || (row.sha256 && !blob)) {
			assertConnected(await sessionStatus(this.deps.db, tenantId, sid))
			const { picture } = await this.ask('session.profile_picture.get', tenantId, sid, { jid })
			const fetched = { sha256: picture?.sha256 ?? null, mimetype: picture?.mimetype ?? null, size: picture?.size ?? null, fetchedAt: new Date() }
			await this.deps.db
				.insert(profilePictures)
				.values({ sessionId: sid, jid, tenantId, ...fetched })
				.onConflictDoUpdate({ target: [profilePictures.sessionId, profilePictures.jid], set: fetched })
			row = { sessionId: sid, jid, tenantId, ...fetched }
			blob = picture ? await blobOf(this.deps.db, tenantId, picture.sha256) : undefined
		}
		if (!row.sha256 || !blob)
			throw new NotFoundError(
				'NO_PICTURE',
				`${isGroupJid(jid) ? 'The group' : 'The contact'} has no profile picture, or does not show it to this account`,
			)
		const { store } = this.deps
		const age = (Date.now() - row.fetchedAt.getTime()) / 1000
		return {
			mimetype: row.mimetype ?? 'image/jpeg',
			size: blob.size,
			sha256: row.sha256,
			fetchedAt: row.fetchedAt,
			freshForSeconds: Math.max(0, Math.floor(ttl - age)),
			read: (range) => store.read(blob.storageKey, range),
		}
	}

	/** POST /chats/:jid/presence: typing, recording or paused in a chat (a user's or a group's). */
	chatPresence(tenantId: string, jidInput: string, sessionId: string | undefined, state: ChatState): Promise<PresenceAccepted> {
		const jid = normalizeRecipient(jidInput)
		if (!jid) throw invalidJid()
		return this.presenceCommand(tenantId, sessionId, 'session.presence.send', { state, to: jid }, { chatJid: jid, state })
	}

	/** POST /sessions/:id/presence: the account online (`available`) or not. */
	ownPresence(tenantId: string, sessionId: string, state: OwnPresence): Promise<PresenceAccepted> {
		return this.presenceCommand(tenantId, sessionId, 'session.presence.send', { state }, { chatJid: null, state })
	}

	/** POST /chats/:jid/presence/subscribe: `session.presence.updated` follows for this contact or group. */
	subscribe(tenantId: string, jidInput: string, sessionId: string | undefined): Promise<PresenceAccepted> {
		const jid = normalizeRecipient(jidInput)
		if (!jid) throw invalidJid()
		return this.presenceCommand(tenantId, sessionId, 'session.presence.subscribe', { jid }, { chatJid: jid, state: 'subscribed' })
	}

	private async presenceCommand<K extends 'session.presence.send' | 'session.presence.subscribe'>(
		tenantId: string,
		sessionId: string | undefined,
		type: K,
		data: CommandDataOf<K>,
		accepted: PresenceAccepted,
	): Promise<PresenceAccepted> {
		const sid = await this.deps.sessions.resolveId(tenantId, sessionId)
		await this.deps.db.transaction(async (tx) => {
			assertConnected(await sessionStatus(tx, tenantId, sid))
			await enqueue(tx, command(type, { tenantId, sessionId: sid }, data) as AnyEnvelope)
		})
		this.deps.relay?.nudge()
		return accepted
	}

	/** Asks the session's runner, turning what can go wrong on the way into the API's errors. */
	private async ask<K extends QueryType>(type: K, tenantId: string, sessionId: string, params: QueryParams<K>): Promise<QueryAnswer<K>> {
		const { requester } = this.deps
		if (!requester) throw new UnavailableError('NO_RUNNER', 'This server has no event bus to reach a runner')
		try {
			return await requester.ask(type, { tenantId, sessionId }, params)
		} catch (err) {
			if (err instanceof NoAnswerError)
				throw new UpstreamTimeoutError(
					'RUNNER_TIMEOUT',
					`The session's runner did not answer within ${err.timeoutMs} ms (QUERY_TIMEOUT_MS); it may be restarting. Try again shortly`,
				)
			if (err instanceof QueryFailedError) {
				if (err.code === 'session_not_connected') {
					// The row said connected a moment ago; the runner knows better (it is reconnecting, say).
					const state = await sessionStatus(this.deps.db, tenantId, sessionId)
					assertConnected(state.status === 'connected' ? { status: 'reconnecting', lastError: state.lastError } : state)
				}
				throw new UpstreamError('WHATSAPP_ERROR', `WhatsApp could not answer: ${err.message}`, { code: err.code })
			}
			throw err
		}
	}
}
