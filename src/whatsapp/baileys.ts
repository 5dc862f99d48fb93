// Over 350 lines on purpose: one session's connection is one state machine, and its transitions
// (and the races between a socket's close, a retry timer, a deliberate close and a logout) read
// best as a whole. Credentials, socket helpers and event mapping live beside it.
import makeWASocket, {
	type AnyMessageContent,
	proto,
	type BaileysEventMap,
	type ConnectionState,
	type UserFacingSocketConfig,
	type WAMessage,
	type WASocket,
} from '@whiskeysockets/baileys'
import type { ChatState, MessageKey, OwnPresence, SendContent } from '../core/catalogue'
import { MessageStatusCode } from '../core/message-status'
import { isGroupJid } from '../core/jid'
import type { SessionStatus } from '../core/session-status'
import { Condition } from '../lib/condition'
import { DecryptionError } from '../lib/crypto'
import type { Logger } from '../logger'
import { StaleOwnerError } from './auth-state'
import { SessionCredentials } from './credentials'
import {
	backoffDelay,
	classifyDisconnect,
	DEFAULT_RECONNECT,
	disconnectOf,
	type Disconnect,
	type DisconnectAction,
	type ReconnectPolicy,
	plainSocketError,
} from './disconnects'
import { arrivalClock, ownChange, seconds, toWhatsAppEvents, unresolvedLids } from './mapping'
import {
	NotConnectedError,
	type CloseReason,
	type DisconnectData,
	type OpenSessionOptions,
	type SendOptions,
	type SentMessage,
	type WhatsAppEvent,
	type WhatsAppPort,
	type SessionConnection,
	type NumberCheck,
	type StoredPicture,
} from './port'
import { checkNumbers, mapPresence, pictureUrl, sendPresence } from './people'
import type { MediaFetcher, MediaSession } from './media/fetcher'
import type { IncomingMedia } from '../media/records'
import { incomingFiles } from './media/incoming'
import { PollSecrets, pollVotes } from './polls'
import { quoted, SendRefused, type SendSources, toBaileysContent, type UploadedFile } from './media/outgoing'
import type { ConnectPacer } from './pacer'
import { PublishQueue } from './publish-queue'
import { ReceiptGate } from './receipts'
import { verifySignaturesStrictly } from './signatures'
import { SendsInFlight } from './sends'
import { connected, disconnected, keepMessageTimestamps, resolveLids, toJid } from './socket'
import { GroupCache, type GroupOperation, type GroupResult, groupRefusal, runGroupOperation } from './groups'

/** `WA_STORE_TIMEOUT_MS`'s default. */
const DEFAULT_STORE_TIMEOUT_MS = 10_000

export interface BaileysPortOptions {
	logger: Logger
	/** `WA_WEBSOCKET_URL`; Baileys' default (the real WhatsApp) when unset. */
	websocketUrl?: string
	reconnect?: ReconnectPolicy
	/**
	 * How long a read or write of the credentials may take (`WA_STORE_TIMEOUT_MS`): a database that
	 * stops answering counts as failed past it, rather than holding the session for good.
	 */
	storeTimeoutMs?: number
	/** How the linked device is named on the phone: [platform, browser, version]. */
	browser?: [string, string, string]
	/** How long a logout waits for a paired session that is not connected to come up, so WhatsApp hears of it. */
	logoutTimeoutMs?: number
	/** Spaces out socket opens across every session of the process (`RUNNER_CONNECT_RATE`); none when unset. */
	pacer?: ConnectPacer
	/** Extra socket settings (tests). */
	socketConfig?: Partial<UserFacingSocketConfig>
	/** Downloads the files of received messages; without it they stay `pending`. */
	media?: MediaFetcher
	/** A tenant's uploaded file by id, for sends of media; without it media sends are refused. */
	uploads?: (tenantId: string, mediaId: string) => Promise<UploadedFile | null>
	/** Fetches a profile picture's URL into the tenant's media store; without it pictures are refused. */
	pictures?: (tenantId: string, url: string) => Promise<StoredPicture>
}

/** A message this session sent from an upload: its file is the upload's, stored already. */
interface SentFile {
	messageId: string
	upload: UploadedFile
}

const DEFAULT_BROWSER: [string, string, string] = ['Switchboard', 'Chrome', '1.0.0']
/** One clock for every session of this process, so a session that is closed and opened again keeps counting up. */
const arrivals = arrivalClock()
/** Baileys shows the first QR of a series for 60 s, each later one for 20 s (`qrTimeout` unset). */
const FIRST_QR_MS = 60_000
const NEXT_QR_MS = 20_000
/**
 * Waits before fetching again a group the account joined, when WhatsApp could not answer: after
 * the last the group stays as the join left it until the next connect fetches every group.
 */
const GROUP_FETCH_RETRIES_MS = [1_000, 5_000, 30_000]

/** The Baileys driver of the WhatsApp port: one state machine per session, one socket at a time. */
export function createBaileysPort(options: BaileysPortOptions): WhatsAppPort {
	verifySignaturesStrictly()
	return {
		open(session) {
			const s = new BaileysSession(options, session)
			void s.start()
			return s
		},
	}
}

/**
 * starting → qr → connected; a transient drop → reconnecting (jittered backoff) → connected; 515
 * → a new socket at once; 401/403 → logged_out (creds deleted); 440, an unscanned QR series or too
 * many failed attempts → failed. Events are mapped one batch at a time, in order (`work`), and
 * published in that order (`outgoing`).
 */
class BaileysSession implements SessionConnection {
	status: SessionStatus = 'starting'
	readonly ended: Promise<SessionStatus>
	private resolveEnded!: (status: SessionStatus) => void
	private finished = false
	private readonly credentials: SessionCredentials
	private sock?: WASocket
	/** The receipt gate of `sock`. */
	private receipts?: ReceiptGate
	/** Why `sock` is being ended by the session itself: the store failed under it (see `storeFailed`). */
	private storeFailure?: Disconnect
	/** Bumped for every new socket and on a deliberate close: connection news from an older socket is stale. */
	private generation = 0
	private attempts = 0
	private retryTimer?: Timer
	private pairingRequested = false
	private qrCount = 0
	private closing = false
	/** Set by logout(): a QR or pairing code shown now would only confuse. */
	private loggingOut = false
	private started: Promise<void> = Promise.resolve()
	private work: Promise<void> = Promise.resolve()
	/** The session's events, published in order; a batch mapped while another is published goes out with the next. */
	private readonly outgoing: PublishQueue<WhatsAppEvent>
	/** Resolves once every batch handled so far is published and its receipts are released (or dropped). */
	private acknowledged: Promise<void> = Promise.resolve()
	private readonly sends = new SendsInFlight()
	private readonly groups = new GroupCache()
	/** Groups the account joined whose metadata is being fetched. */
	private readonly fetchingGroups = new Set<string>()
	private readonly polls: PollSecrets
	/** The availability this session shows: unavailable from the start, so the phone keeps its notifications. */
	private ownPresence: OwnPresence = 'unavailable'
	private readonly statusChanges = new Condition()
	private readonly log: Logger
	private readonly baileysLog: Logger
	private readonly policy: ReconnectPolicy

	constructor(
		private readonly port: BaileysPortOptions,
		private readonly options: OpenSessionOptions,
	) {
		this.log = port.logger.child({ sessionId: options.sessionId })
		// Baileys narrates every frame at info and logs a routine 515 as an error: keep it to real
		// trouble unless the operator asked for debug output.
		const parent = port.logger
		const level = parent.levelVal < 30 || parent.levelVal > 50 ? parent.level : 'error'
		this.baileysLog = this.log.child({ module: 'baileys' }, { level })
		this.policy = port.reconnect ?? DEFAULT_RECONNECT
		this.credentials = new SessionCredentials(
			options.auth,
			this.log,
			this.baileysLog,
			(err) => this.ownershipLost(err),
			(err) => this.storeFailed(err),
			port.storeTimeoutMs ?? DEFAULT_STORE_TIMEOUT_MS,
		)
		this.polls = new PollSecrets(options.storedMessage)
		this.outgoing = new PublishQueue((events) => options.emit(events))
		this.ended = new Promise((resolve) => (this.resolveEnded = resolve))
	}

	get sessionId() {
		return this.options.sessionId
	}

	start(): Promise<void> {
		this.started = this.begin()
		return this.started
	}

	private async begin(): Promise<void> {
		try {
			await this.credentials.load()
			// Left by a socket that asked for a pairing code and ended before it was typed in (a stop,
			// a restart, another runner taking over): logging in with them is refused as logged out.
			await this.dropHalfPairing()
		} catch (err) {
			if (err instanceof DecryptionError) {
				// Never re-pair over creds we cannot read: that would silently replace a working
				// session. The stored rows stay as they are for an operator with the right key.
				this.log.error({ err }, 'stored WhatsApp credentials cannot be decrypted')
				await this.serially(() =>
					this.finish('failed', {
						reason: 'auth_state_unreadable',
						message: 'stored credentials cannot be decrypted (wrong ENCRYPTION_KEY?); they were left untouched',
					}),
				)
				return
			}
			if (err instanceof StaleOwnerError) {
				this.ownershipLost(err)
				return
			}
			this.log.warn({ err }, 'could not load the auth state')
			await this.serially(() => this.retry('auth_state_unavailable', { code: undefined, message: (err as Error).message }))
			return
		}
		void this.connect()
	}

	/**
	 * A socket that asked for a pairing code and ended before pairing finished leaves `me` in the
	 * creds without an account; the server refuses such a login (401), so pairing starts afresh.
	 */
	private async dropHalfPairing() {
		const creds = this.credentials.creds
		if (creds?.me && !creds.account) {
			await this.credentials.clear()
			await this.credentials.load()
		}
	}

	/**
	 * Records the files of the messages about to be published, live and from history, so every
	 * media id a client sees resolves; answers the live ones (history files wait for a client to
	 * ask), or null when recording failed (nothing is published then).
	 */
	private async recordFiles(events: Partial<BaileysEventMap>, mapped: readonly WhatsAppEvent[], sent?: SentFile): Promise<IncomingMedia[] | null> {
		const { media } = this.port
		const tenantId = this.options.tenantId
		if (!media || !tenantId) return []
		const of = (type: 'session.messages.upsert' | 'session.history.sync') => mapped.flatMap((e) => (e.type === type ? e.data.messages : []))
		const live = incomingFiles(events['messages.upsert']?.messages ?? [], of('session.messages.upsert'), tenantId, this.sessionId)
		const history = incomingFiles(events['messaging-history.set']?.messages ?? [], of('session.history.sync'), tenantId, this.sessionId)
		// The file of a message sent from an upload is the upload's bytes (Baileys hashed what it read).
		const own = sent && live.find((f) => f.fromMe && f.messageId === sent.messageId && f.ref.sha256 === sent.upload.sha256)
		try {
			const stored = own && (await media.recordSent(own, sent.upload))
			// The message goes out with its file stored: `own.ref` is the media of the mapped message.
			if (stored) Object.assign(own.ref, { state: 'stored', size: sent.upload.size })
			const pending = stored ? live.filter((f) => f !== own) : live
			await media.record([...pending, ...history])
			return pending
		} catch (err) {
			this.log.error({ err }, 'recording received files failed; the messages come again')
			return null
		}
	}

	private readonly mediaSession: MediaSession = {
		emit: async (e) => void (await this.emit(e)),
		reupload: (file) => this.reupload(file),
	}

	/** Asks the sender's phone, through WhatsApp, to upload a file again; where it landed, or null. */
	private async reupload(file: Parameters<MediaSession['reupload']>[0]): Promise<{ directPath: string; url?: string } | null> {
		const sock = this.sock
		if (!sock || this.status !== 'connected') return null
		const field = `${file.kind}Message` as const
		// Baileys moves the file's URL onto its current media host, and until a media connection is
		// known that is WhatsApp's default rather than the host the account was given.
		await sock.refreshMediaConn(false)
		const updated = await sock.updateMediaMessage({
			key: { remoteJid: file.messageKey.remoteJid, fromMe: file.messageKey.fromMe, id: file.messageKey.id },
			message: { [field]: { mediaKey: file.mediaKey, directPath: file.directPath, url: file.url ?? undefined } },
		})
		const content = updated.message?.[field] as { directPath?: string | null; url?: string | null } | undefined
		return content?.directPath ? { directPath: content.directPath, ...(content.url ? { url: content.url } : {}) } : null
	}

	/**
	 * The database failed under Baileys (a key read or write, a creds save). Baileys would answer the
	 * stanza it was handling with an error ack, and WhatsApp would not deliver that message again:
	 * so nothing more is answered on this socket, the socket ends, and the credentials are read
	 * from the database again before the next one (those in memory may be ahead of it). What was
	 * not answered comes again at the next login.
	 */
	private storeFailed(err: unknown) {
		const sock = this.sock
		if (!sock || this.storeFailure || this.closing || this.finished) return
		const message = `the database could not be reached: ${err instanceof Error ? err.message : String(err)}`
		this.log.warn({ err }, 'the auth state store failed; ending the socket unanswered, WhatsApp delivers what was not stored again')
		this.storeFailure = { code: undefined, message }
		this.receipts?.silence()
		this.credentials.forget()
		void sock.end(undefined)
	}

	private ownershipLost(err: StaleOwnerError) {
		if (this.closing || this.finished) return
		this.log.warn({ err }, 'another runner owns this session now; closing without a word')
		void this.close({ status: 'stopped', reason: 'ownership_lost', silent: true })
	}

	// ── sockets ──────────────────────────────────────────────────────────────────────────────

	/** Opens a socket when the pacer gives this session its turn, unless it was closed or moved on meanwhile. */
	private async connect() {
		const generation = ++this.generation
		await this.port.pacer?.turn()
		const { creds, keys } = this.credentials
		if (generation !== this.generation || this.finished || this.closing || !creds || !keys) return
		this.pairingRequested = false
		this.qrCount = 0
		const receipts = new ReceiptGate(this.log)
		this.receipts = receipts
		this.storeFailure = undefined
		const sock = makeWASocket({
			auth: { creds, keys },
			logger: this.baileysLog,
			...(this.port.websocketUrl ? { waWebSocketUrl: this.port.websocketUrl } : {}),
			browser: this.port.browser ?? DEFAULT_BROWSER,
			// The phone keeps its notifications: a server is not someone reading.
			markOnlineOnConnect: false,
			syncFullHistory: false,
			// send() emits the upsert of a sent message itself (see there).
			emitOwnEvents: false,
			interceptSendNode: (node, send) => {
				this.sends.note(node)
				return receipts.intercept(node, send)
			},
			getMessage: async (key) => {
				const content = key.id ? await this.options.storedMessage?.({ id: key.id, fromMe: !!key.fromMe }) : null
				return content ? proto.Message.fromObject(content) : undefined
			},
			// A send to a group takes the roster from the events seen, not from a fetch per send.
			cachedGroupMetadata: async (jid) => this.groups.get(jid),
			...this.port.socketConfig,
		})
		this.sock = sock
		keepMessageTimestamps(sock)
		sock.ev.process((events) => {
			void this.serially(() => this.handle(generation, sock, events, { receipts }))
		})
	}

	/** Runs `task` after everything queued before it: events leave in the order Baileys emitted them. */
	private serially(task: () => Promise<void>): Promise<void> {
		const next = this.work.then(task).catch((err) => this.log.error({ err }, 'session event handling failed'))
		this.work = next
		return next
	}

	/** `receipts` of messages WhatsApp delivered, held until they are handed on; `sent`, a message this session sent from an upload. */
	private async handle(
		generation: number,
		sock: WASocket,
		events: Partial<BaileysEventMap>,
		{ receipts, sent }: { receipts?: ReceiptGate; sent?: SentFile } = {},
	) {
		if (events['creds.update']) {
			this.credentials.save()
			if (generation === this.generation && this.status === 'connected') this.keepPresence(sock)
		}
		const connection = events['connection.update']
		if (connection && generation === this.generation) await this.onConnectionUpdate(sock, connection)
		const joined = this.groups.joined(events, [this.credentials.creds?.me?.id, this.credentials.creds?.me?.lid])
		if (joined) void this.fetchGroup(sock, joined)
		this.groups.apply(events)
		const pairs = GroupCache.pairs(events)
		// Pairs seen in rosters let Baileys address those members, and resolve their LIDs later.
		if (pairs.length)
			await sock.signalRepository.lidMapping.storeLIDPNMappings(pairs).catch((err) => this.log.warn({ err }, 'could not store LID mappings'))
		// Data from a socket that was since replaced is still true: publish it.
		const lids = unresolvedLids(events)
		const alts = lids.length ? await resolveLids(sock, lids) : undefined
		const me = this.credentials.creds?.me?.id
		this.polls.remember(events['messages.upsert']?.messages ?? [])
		this.polls.remember(events['messaging-history.set']?.messages ?? [])
		const votes = await pollVotes(events, this.polls, this.credentials.creds?.me)
		const mapped = toWhatsAppEvents(events, {
			altOf: (jid) => alts?.get(jid),
			sessionId: this.sessionId,
			me,
			meLid: this.credentials.creds?.me?.lid ?? undefined,
			groupRoleOf: (groupJid, jid) => this.groups.roleOf(groupJid, jid),
			pollVoteOf: (m) => (m.key.id ? votes.get(m.key.id) : undefined),
			nextSeq: arrivals,
			unstorable: (id, remoteJid) =>
				this.log.warn(
					{ idStart: id.slice(0, 32), idLength: id.length, remoteJid },
					'a message id longer than the store keeps: the message is skipped',
				),
		})
		const presence = events['presence.update']
		if (presence) for (const data of mapPresence(presence)) mapped.push({ type: 'session.presence.updated', data })
		// A message's file is on record before the message is out, so its media id always resolves.
		const files = await this.recordFiles(events, mapped, sent)
		const ids = events['messages.upsert']?.messages.flatMap((m) => m.key.id ?? []) ?? []
		// The next batch is mapped while this one is published (in order, see PublishQueue).
		const publishing = files && mapped.length ? this.emit(mapped) : Promise.resolve(!!files)
		const handedOn = publishing
			.then(async (published) => {
				if (published && files?.length) await this.port.media?.queue(files, this.mediaSession)
				// Only a message handed on is acknowledged to WhatsApp; one that is not comes again.
				if (receipts && ids.length) published ? receipts.release(ids) : receipts.drop(ids)
			})
			.catch((err) => this.log.error({ err }, 'session event handling failed'))
		this.acknowledged = Promise.all([this.acknowledged, handedOn]).then(() => {})
	}

	/** Every batch handled so far is published, and its receipts are released. */
	private async handedOn(): Promise<void> {
		await this.serially(async () => {})
		await this.acknowledged
	}

	private async onConnectionUpdate(sock: WASocket, update: Partial<ConnectionState>) {
		if (update.qr) await this.onQr(sock, update.qr)
		if (update.connection === 'open') {
			this.attempts = 0
			this.setStatus('connected')
			// Opened only to tell WhatsApp of a logout (a stopped session deleted): no news to clients,
			// who heard the session was deleted, and nothing to fetch.
			if (this.loggingOut) return
			const me = this.credentials.creds?.me
			if (!me?.id) return
			const event = connected(me)
			this.log.info({ jid: event.data.jid }, 'connected')
			await this.emit([event])
			void this.fetchGroups(sock)
			void this.port.media?.resume(this.sessionId, this.mediaSession).catch((err) => this.log.warn({ err }, 'could not resume media downloads'))
		}
		if (update.connection === 'close') await this.onClose(disconnectOf(update.lastDisconnect?.error))
	}

	/**
	 * Every group the account is in, whole: Baileys emits them as `groups.update`, which fills the
	 * group cache and goes out as `session.groups.upsert`.
	 */
	private async fetchGroups(sock: WASocket) {
		try {
			await sock.groupFetchAllParticipating()
		} catch (err) {
			this.log.warn({ err }, 'could not fetch the groups')
		}
	}

	/**
	 * One group the account joined, whole: emitted as `groups.upsert` on the socket's events, so it
	 * fills the group cache and goes out as `session.groups.upsert` like a group fetched on connect.
	 * A group already being fetched is not asked for again. A failed fetch is tried again on the
	 * same socket (a new one fetches every group), unless WhatsApp says the account is no longer in
	 * the group or there is no such group.
	 */
	private async fetchGroup(sock: WASocket, jid: string) {
		if (this.fetchingGroups.has(jid)) return
		this.fetchingGroups.add(jid)
		try {
			for (const retryMs of [...GROUP_FETCH_RETRIES_MS, null]) {
				try {
					sock.ev.emit('groups.upsert', [await sock.groupMetadata(jid)])
					return
				} catch (err) {
					const refusal = groupRefusal(err)?.code
					const final = retryMs === null || refusal === 'group_not_member' || refusal === 'group_not_found'
					this.log.warn({ err, jid, retryMs: final ? null : retryMs }, 'could not fetch a group the account joined')
					if (final) return
					await new Promise((resolve) => setTimeout(resolve, retryMs).unref())
					if (this.sock !== sock) return
				}
			}
		} finally {
			this.fetchingGroups.delete(jid)
		}
	}

	private async onQr(sock: WASocket, qr: string) {
		if (this.loggingOut) return
		const phone = this.options.phoneNumber
		if (!phone) {
			this.qrCount++
			this.setStatus('qr')
			const expiresAt = new Date(Date.now() + (this.qrCount === 1 ? FIRST_QR_MS : NEXT_QR_MS)).toISOString()
			await this.emit([{ type: 'session.qr.updated', data: { qr, expiresAt } }])
			return
		}
		// Pairing by code: the code can only be asked for once the socket is up, which the first QR
		// proves; the later QRs of the series mean nothing to someone typing a code.
		if (this.pairingRequested) return
		this.pairingRequested = true
		try {
			const code = await sock.requestPairingCode(phone)
			this.setStatus('qr')
			await this.emit([{ type: 'session.pairing_code.updated', data: { code } }])
		} catch (err) {
			this.log.warn({ err }, 'requesting a pairing code failed')
		}
	}

	private async onClose(closed: Disconnect) {
		this.sock = undefined
		if (this.finished || this.closing) return
		const disconnect = this.storeFailure ?? closed
		const decision: DisconnectAction = this.storeFailure
			? { action: 'reconnect', reason: 'database_unavailable' }
			: classifyDisconnect(disconnect, { paired: this.credentials.paired })
		this.log.info({ ...disconnect, ...decision }, 'socket closed')
		switch (decision.action) {
			case 'restart':
				if (!(await this.countAttempt(decision.reason, disconnect))) return
				this.setStatus('reconnecting')
				await this.emit([disconnected('reconnecting', decision.reason, disconnect)])
				void this.connect()
				return
			case 'reconnect':
				return await this.retry(decision.reason, disconnect)
			case 'logged_out':
				await this.credentials.clear()
				// WhatsApp's own words ("Stream Errored (conflict)") stay beside the explanation, for whoever debugs it.
				return await this.finish('logged_out', {
					reason: decision.reason,
					code: disconnect.code,
					message: disconnect.message ? `${decision.message} (${disconnect.message})` : decision.message,
				})
			case 'failed':
				return await this.finish('failed', { reason: decision.reason, code: disconnect.code, message: decision.message })
		}
	}

	/** Counts one more attempt without an `open`; false (and the session failed) past the limit. */
	private async countAttempt(reason: string, disconnect: Disconnect): Promise<boolean> {
		this.attempts++
		if (this.attempts <= this.policy.maxAttempts) return true
		await this.finish('failed', {
			reason: 'reconnect_attempts_exhausted',
			code: disconnect.code,
			message: `gave up after ${this.policy.maxAttempts} attempts; last: ${reason}${disconnect.message ? ` (${plainSocketError(disconnect.message)})` : ''}`,
		})
		return false
	}

	private async retry(reason: string, disconnect: Disconnect) {
		if (!(await this.countAttempt(reason, disconnect))) return
		await this.dropHalfPairing()
		const delay = backoffDelay(this.attempts, this.policy)
		this.setStatus('reconnecting')
		// The next attempt's time of day, not a delay: the reason is read later, on a page or in a list.
		const next = new Date(Date.now() + delay).toISOString().slice(11, 19)
		const detail = `${plainSocketError(disconnect.message) ?? reason}; attempt ${this.attempts} of ${this.policy.maxAttempts}, the next at ${next} UTC`
		await this.emit([disconnected('reconnecting', reason, { code: disconnect.code, message: detail })])
		this.retryTimer = setTimeout(() => {
			if (this.finished || this.closing) return
			if (this.credentials.loaded) void this.connect()
			else void this.start()
		}, delay)
	}

	private async finish(status: 'stopped' | 'reconnecting' | 'logged_out' | 'failed', data: Omit<DisconnectData, 'status'>, silent = false) {
		if (this.finished) return
		this.finished = true
		clearTimeout(this.retryTimer)
		// `reconnecting` as a final word means "another runner takes over"; this object is done.
		this.setStatus(status === 'reconnecting' ? 'stopped' : status)
		if (!silent) await this.emit([disconnected(status, data.reason, data)])
		this.resolveEnded(this.status)
	}

	/** False when the events could not be published (logged): the caller must not acknowledge them. */
	private async emit(events: WhatsAppEvent[]): Promise<boolean> {
		try {
			await this.outgoing.push(events)
			return true
		} catch (err) {
			this.log.error({ err, types: events.map((e) => e.type) }, 'publishing session events failed')
			return false
		}
	}

	private setStatus(status: SessionStatus) {
		this.status = status
		this.statusChanges.changed()
	}

	// ── the port ─────────────────────────────────────────────────────────────────────────────

	async send(to: string, content: SendContent, messageId: string, options: SendOptions = {}): Promise<SentMessage> {
		const sock = this.sock
		if (this.status !== 'connected' || !sock) throw new NotConnectedError(this.status)
		const generation = this.generation
		let upload: UploadedFile | undefined
		const sources: SendSources = {
			upload: async (mediaId) => {
				const found = this.options.tenantId && this.port.uploads ? await this.port.uploads(this.options.tenantId, mediaId) : null
				upload = found ?? undefined
				return found
			},
			storedMessage: this.options.storedMessage,
		}
		const message = await toBaileysContent(content, sources)
		const reply = options.replyTo ? await quoted(options.replyTo, sources) : undefined
		return await this.sends.track(messageId, () => this.sendOn(sock, generation, to, message, messageId, reply, upload))
	}

	/**
	 * Baileys' own upsert of a sent message comes a tick later through its event buffer, where a
	 * socket that ends meanwhile drops it though the phone has the message: the driver records the
	 * message itself, in the session's order of events, before the send resolves.
	 */
	private async sendOn(
		sock: WASocket,
		generation: number,
		to: string,
		content: AnyMessageContent,
		messageId: string,
		reply: WAMessage | undefined,
		upload: UploadedFile | undefined,
	): Promise<SentMessage> {
		const jid = toJid(to)
		const sent = await sock.sendMessage(jid, content, { messageId, ...(reply ? { quoted: reply } : {}) }).catch((err: unknown) => {
			// A group it is not in, or that does not exist: WhatsApp's reason, not its bare `item-not-found`.
			throw (isGroupJid(jid) && groupRefusal(err)) || err
		})
		const change = sent && ownChange(sent)
		if (change) void this.serially(() => this.handle(generation, sock, { 'messages.update': [change] }))
		else if (sent) {
			const file = upload && sent.key.id ? { messageId: sent.key.id, upload } : undefined
			void this.serially(() => this.handle(generation, sock, { 'messages.upsert': { messages: [sent], type: 'append' } }, { sent: file }))
		}
		await this.handedOn()
		return { messageId: sent?.key.id ?? messageId, timestamp: seconds(sent?.messageTimestamp) || Math.floor(Date.now() / 1000) }
	}

	/**
	 * Sends read receipts for received messages of one chat. WhatsApp tells no device of receipts a
	 * device sends itself, so the driver records what it read: each message read, the chat with
	 * nothing unread.
	 */
	async markRead(chatJid: string, keys: readonly MessageKey[]): Promise<void> {
		const sock = this.sock
		if (this.status !== 'connected' || !sock) throw new NotConnectedError(this.status)
		const generation = this.generation
		await sock.readMessages(
			keys.map((k) => ({ remoteJid: toJid(k.remoteJid), fromMe: k.fromMe, id: k.id, ...(k.participant ? { participant: k.participant } : {}) })),
		)
		await this.serially(async () => {
			if (generation !== this.generation) return
			await this.emit([
				{ type: 'session.messages.update', data: { updates: keys.map((key) => ({ key, status: MessageStatusCode.read })) } },
				{ type: 'session.chats.upsert', data: { chats: [{ jid: chatJid, unreadCount: 0 }] } },
			])
		})
	}

	/**
	 * Queues the download of a received file (the on-demand policy, or a retry of a failed one);
	 * how it ends goes out as `session.media.updated`, so the session's other commands need not wait.
	 */
	async downloadMedia(mediaId: string): Promise<void> {
		if (this.status !== 'connected' || !this.sock) throw new NotConnectedError(this.status)
		if (!this.port.media) throw new SendRefused('media_not_found', 'this runner keeps no media')
		void this.port.media.fetch(mediaId, this.mediaSession).catch((err) => this.log.error({ err, mediaId }, 'media download failed'))
	}

	/** Runs a group management operation; WhatsApp's refusal throws SendRefused with its reason. */
	async manageGroup(operation: GroupOperation): Promise<GroupResult> {
		const sock = this.sock
		if (this.status !== 'connected' || !sock) throw new NotConnectedError(this.status)
		return await runGroupOperation(sock, operation)
	}

	/** The socket, when connected: what the people operations (whatsapp/people.ts) run on. */
	private connectedSocket(): WASocket {
		if (this.status !== 'connected' || !this.sock) throw new NotConnectedError(this.status)
		return this.sock
	}

	checkNumbers(phoneNumbers: readonly string[]): Promise<NumberCheck[]> {
		return checkNumbers(this.connectedSocket(), phoneNumbers)
	}

	async profilePicture(jid: string): Promise<StoredPicture | null> {
		const url = await pictureUrl(this.connectedSocket(), jid)
		if (!url) return null
		if (!this.port.pictures || !this.options.tenantId) throw new SendRefused('pictures_unavailable', 'this runner keeps no media')
		return await this.port.pictures(this.options.tenantId, url)
	}

	async sendPresence(state: ChatState | OwnPresence, to?: string): Promise<void> {
		await sendPresence(this.connectedSocket(), state, to && toJid(to))
		if (state === 'available' || state === 'unavailable') this.ownPresence = state
	}

	/**
	 * Baileys sends a presence stanza without a type (which WhatsApp reads as available) for every
	 * credentials update that does not carry the push name, the first ones right after connecting.
	 * An account shown available gets no notifications on its phone, so the availability this
	 * session chose is said again after each.
	 */
	private keepPresence(sock: WASocket) {
		if (this.ownPresence !== 'unavailable') return
		sock.sendPresenceUpdate('unavailable').catch((err) => this.log.warn({ err }, 'could not show the account unavailable again'))
	}

	async subscribePresence(jid: string): Promise<void> {
		await this.connectedSocket().presenceSubscribe(toJid(jid))
	}

	async close(reason: CloseReason): Promise<void> {
		if (this.finished || this.closing) return await this.ended.then(() => {})
		this.closing = true
		clearTimeout(this.retryTimer)
		await this.endSocket()
		// A send that reached the socket is recorded before the session says it ended.
		await this.sends.handedOver()
		await this.serially(() => this.finish(reason.status, { reason: reason.reason, message: reason.message }, reason.silent))
		// The next owner reads the creds from Postgres: the last save must be in.
		await this.credentials.saved()
	}

	async logout(): Promise<void> {
		if (this.closing) return await this.ended.then(() => {})
		this.loggingOut = true
		await this.started
		if (!this.finished && this.credentials.paired && this.status !== 'connected') {
			// WhatsApp only hears of a logout over an open socket; a paired session that is
			// (re)connecting gets a moment to come up first.
			await this.statusChanges.until(() => this.finished || this.status === 'connected', this.port.logoutTimeoutMs ?? 15_000)
		}
		if (this.finished) {
			// Ended on its own (401 included): the creds go all the same.
			if (this.status !== 'logged_out') {
				await this.credentials.clear()
				this.setStatus('logged_out')
				await this.serially(async () => {
					await this.emit([disconnected('logged_out', 'logged_out', { message: 'logged out on request' })])
				})
			}
			return
		}
		this.closing = true
		clearTimeout(this.retryTimer)
		const sock = this.sock
		if (sock && this.status === 'connected') {
			this.generation++
			this.sock = undefined
			sock.ev.flush()
			try {
				await sock.logout('logged out on request')
			} catch (err) {
				this.log.warn({ err }, 'could not tell WhatsApp about the logout; deleting the credentials anyway')
				await sock.end(undefined)
			}
		} else await this.endSocket()
		await this.sends.handedOver()
		await this.serially(async () => {
			await this.credentials.clear()
			await this.finish('logged_out', { reason: 'logged_out', message: 'logged out on request' })
		})
	}

	/**
	 * Ends the current socket without logging out, handing over what Baileys still buffers first:
	 * the receipts of those messages go out once they are published, while the socket is still up.
	 */
	private async endSocket() {
		const sock = this.sock
		this.sock = undefined
		this.generation++
		if (!sock) return
		sock.ev.flush()
		await this.handedOn()
		await sock.end(undefined)
	}
}
