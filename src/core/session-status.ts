import type { DomainEvent } from './catalogue'

/**
 * Where a session's connection is. The runner moves it; everyone else reads it:
 *
 *   starting ──▶ qr ──(QR scanned or code entered)──▶ connected ◀──▶ reconnecting
 *       └──────────────(stored pairing)────────────────▶┘
 *   any of them ──▶ stopped | logged_out | failed
 *
 * `stopped` keeps the pairing (a start logs in again without a QR); `logged_out` needs a new
 * pairing; `failed` is an error a retry did not resolve. The API sets only `starting`, when it
 * asks a session that is down to start.
 */
export const SESSION_STATUSES = ['starting', 'qr', 'connected', 'reconnecting', 'stopped', 'logged_out', 'failed'] as const
export type SessionStatus = (typeof SESSION_STATUSES)[number]

/** Statuses a session stays in until someone asks for a start: no socket runs for it. */
const ENDED_STATUSES: readonly SessionStatus[] = ['stopped', 'logged_out', 'failed']
export const isEnded = (status: SessionStatus) => ENDED_STATUSES.includes(status)

/** What the session owner asked for; runners converge on it after restarts and takeovers. */
export const DESIRED_STATES = ['running', 'stopped'] as const
export type DesiredState = (typeof DESIRED_STATES)[number]

/** The events that move a session's status (the rest are about its data). */
export const STATUS_EVENT_TYPES = [
	'session.qr.updated',
	'session.pairing_code.updated',
	'session.status.connected',
	'session.status.disconnected',
] as const
export type StatusEvent = Extract<DomainEvent, { type: (typeof STATUS_EVENT_TYPES)[number] }>
const statusTypes = new Set<string>(STATUS_EVENT_TYPES)
export const isStatusEvent = (e: DomainEvent): e is StatusEvent => statusTypes.has(e.type)

/** The part of a session that status events write. */
export interface SessionState {
	status: SessionStatus
	jid: string | null
	lid: string | null
	phoneNumber: string | null
	qr: string | null
	pairingCode: string | null
	lastError: string | null
	lastDisconnectCode: number | null
	ownerRunner: string | null
}

/** What one status event sets on its session. */
export function statusPatch(e: StatusEvent): Partial<SessionState> {
	switch (e.type) {
		case 'session.qr.updated':
			return { status: 'qr', qr: e.data.qr }
		case 'session.pairing_code.updated':
			return { status: 'qr', pairingCode: e.data.code }
		case 'session.status.connected':
			return {
				status: 'connected',
				jid: e.data.jid,
				...(e.data.lid ? { lid: e.data.lid } : {}),
				...(e.data.phoneNumber ? { phoneNumber: e.data.phoneNumber } : {}),
				qr: null,
				pairingCode: null,
				lastError: null,
				lastDisconnectCode: null,
				ownerRunner: e.data.runner ?? null,
			}
		case 'session.status.disconnected':
			return {
				status: e.data.status,
				qr: null,
				pairingCode: null,
				lastDisconnectCode: e.data.code ?? null,
				lastError: e.data.status === 'stopped' ? null : (e.data.message ?? e.data.reason),
				// A reconnecting session keeps its last owner until the next one connects.
				...(e.data.status === 'reconnecting' ? {} : { ownerRunner: null }),
			}
	}
}

export const NIL_UUID = '00000000-0000-0000-0000-000000000000'

/**
 * The order of status events: by `occurredAt`, then by envelope id (uuid v7 sorts by time), as one
 * comparable string. Delivery is at least once and out of order, so a session applies an event only
 * when it is newer than the last one applied.
 */
const eventVersion = (occurredAt: Date | string, id: string) => `${new Date(occurredAt).toISOString()} ${id.toLowerCase()}`

/** A session with the version of the last status event applied to it. */
export interface VersionedSession extends SessionState {
	lastEventAt: Date | null
	lastEventId: string | null
	updatedAt: Date
}

/**
 * Applies a status event to a session in memory: newer events replace the status, an older
 * `connected` still fills the identity (jid, lid, phone number) the session lacks, because who the
 * account is stays true whatever came after. The projection applies the same rule in SQL.
 */
export function applyStatusEvent(session: VersionedSession, e: StatusEvent): void {
	const version = eventVersion(e.occurredAt, e.id)
	const current = session.lastEventAt ? eventVersion(session.lastEventAt, session.lastEventId ?? NIL_UUID) : null
	if (current === null || current < version) {
		const at = new Date(e.occurredAt)
		Object.assign(session, statusPatch(e))
		session.lastEventAt = at
		session.lastEventId = e.id
		if (at > session.updatedAt) session.updatedAt = at
	} else if (e.type === 'session.status.connected') {
		session.jid ??= e.data.jid
		session.lid ??= e.data.lid ?? null
		session.phoneNumber ??= e.data.phoneNumber ?? null
	}
}
