import type { ChatState, EventData, MessageKey, OwnPresence, QueryAnswer, SendContent } from '../core/catalogue'
import type { SessionStatus } from '../core/session-status'
import type { PostgresAuthState } from './auth-state'

/**
 * The runner's only view of WhatsApp: open a session with its auth state, receive its
 * events as catalogue data, send, log out, close. One driver implements it (`baileys.ts`); the
 * connection state machine (QR, pairing code, reconnects, logged out) lives behind it.
 */

export type WhatsAppEventType =
	| 'session.qr.updated'
	| 'session.pairing_code.updated'
	| 'session.status.connected'
	| 'session.status.disconnected'
	| 'session.history.sync'
	| 'session.messages.upsert'
	| 'session.messages.update'
	| 'session.contacts.upsert'
	| 'session.chats.upsert'
	| 'session.media.updated'
	| 'session.presence.updated'

/** A domain event of one session, before the runner wraps it in an envelope. */
export type WhatsAppEvent = { [K in WhatsAppEventType]: { type: K; data: EventData<K> } }[WhatsAppEventType]

export type DisconnectData = EventData<'session.status.disconnected'>

/** Where a session's Baileys creds and keys live (Postgres in production, see auth-state.ts). */
export interface AuthStore {
	/** Reads the stored state, or fresh creds when there are none; throws DecryptionError on a wrong key. */
	load(): Promise<PostgresAuthState>
	/** Forgets the pairing: creds and every key. */
	clear(): Promise<void>
}

export interface OpenSessionOptions {
	sessionId: string
	/** The tenant the session belongs to: whose media store its received files go to. */
	tenantId?: string
	auth: AuthStore
	/** Pair by code for this number (digits, international form) instead of by QR. */
	phoneNumber?: string
	/**
	 * Receives the session's events in order, a batch per Baileys emission. Awaited: the next batch
	 * waits, so a slow publisher slows the session rather than reordering its events.
	 */
	emit(events: WhatsAppEvent[]): Promise<void>
	/** The stored content (proto JSON) of a message of this session, for WhatsApp's retry requests. */
	storedMessage?(key: { id: string; fromMe: boolean }): Promise<Record<string, unknown> | null>
}

export interface SendOptions {
	/** The message this one answers (shown quoted). */
	replyTo?: MessageKey
}

export interface SentMessage {
	messageId: string
	/** Epoch seconds. */
	timestamp: number
}

export interface SessionConnection {
	readonly sessionId: string
	readonly status: SessionStatus
	/** Resolves with the final status once the session ended (stopped, logged out or failed). */
	readonly ended: Promise<SessionStatus>
	/**
	 * Sends with our own message id; throws NotConnectedError unless connected, SendRefused when
	 * the content names what this session cannot send (an unknown upload).
	 */
	send(to: string, content: SendContent, messageId: string, options?: SendOptions): Promise<SentMessage>
	/** Sends read receipts for received messages of one chat and records them read; throws NotConnectedError unless connected. */
	markRead(chatJid: string, keys: readonly MessageKey[]): Promise<void>
	/** Queues the download of a received file of this session; `session.media.updated` tells how it ended. */
	downloadMedia(mediaId: string): Promise<void>
	/** Which of these numbers (digits) have a WhatsApp account, in one lookup, each as asked. Throws NotConnectedError unless connected. */
	checkNumbers(phoneNumbers: readonly string[]): Promise<NumberCheck[]>
	/** Fetches the profile picture of a user or group into the tenant's media store; null when there is none or it is hidden. */
	profilePicture(jid: string): Promise<StoredPicture | null>
	/** Shows a chat state in the chat `to`, or (no `to`) the account's own availability. */
	sendPresence(state: ChatState | OwnPresence, to?: string): Promise<void>
	/** Asks WhatsApp for a contact's (or group's) presence: `session.presence.updated` follows while the socket lives. */
	subscribePresence(jid: string): Promise<void>
	/**
	 * Unlinks the device (waiting a while for a paired session to connect first), deletes creds and
	 * keys, and ends the session as `logged_out`.
	 */
	logout(): Promise<void>
	/** Closes the socket without logging out; the pairing stays valid for the next start. */
	close(reason: CloseReason): Promise<void>
}

/** How a deliberate close is reported: `stopped` on request, `reconnecting` when another runner (or this one, restarted) resumes it. */
export interface CloseReason {
	status: 'stopped' | 'reconnecting'
	reason: string
	message?: string
	/** Emit nothing (the session already belongs to someone else). */
	silent?: boolean
}

export type NumberCheck = QueryAnswer<'session.contacts.check'>['results'][number]
export type StoredPicture = NonNullable<QueryAnswer<'session.profile_picture.get'>['picture']>

export interface WhatsAppPort {
	/** Starts connecting at once; progress arrives through `emit`. */
	open(options: OpenSessionOptions): SessionConnection
}

export class NotConnectedError extends Error {
	override name = 'NotConnectedError'
	constructor(readonly status: SessionStatus) {
		super(`the session is not connected (status: ${status})`)
	}
}
