import type { Treaty } from '@elysiajs/eden'
import { account, api } from './api'
import { onRealtime } from './realtime'
import { store } from './store'

/**
 * The account's sessions, kept live: the list the API gives, then the WebSocket's snapshot and
 * every session event applied as they arrive (the events come before the database has them, so
 * they are applied here rather than re-read).
 */

export type Session = Treaty.Data<ReturnType<typeof api.sessions.get>>['items'][number]
export const sessions = store<Session[] | null>(null)
/** A command the session could not carry out: which one, what was answered, and when. */
export interface CommandFailure {
	command: string
	message: string
	at: string
}
/** The last refusal of a command for each session, until dismissed or the session's status changes. */
export const sessionErrors = store<Record<string, CommandFailure>>({})
export const dismissError = (sessionId: string) =>
	sessionErrors.update((errors) => Object.fromEntries(Object.entries(errors).filter(([id]) => id !== sessionId)))

const COMMANDS: Record<string, string> = {
	'session.start': 'start the session',
	'session.stop': 'stop the session',
	'session.logout': 'log out',
	'session.messages.send': 'send a message',
	'session.media.download': 'download a file',
	'session.chats.read': 'mark a chat read',
	'session.groups.create': 'create a group',
	'session.groups.edit': 'change a group',
	'session.group_participants.change': 'change who is in a group',
	'session.groups.leave': 'leave a group',
	'session.group_invite.get': 'get a group’s invite link',
	'session.presence.send': 'send presence',
	'session.presence.subscribe': 'follow a contact’s presence',
}
/** A failure as a sentence: "Could not change who is in a group: …". */
export const describeFailure = ({ command, message }: CommandFailure) => `Could not ${COMMANDS[command] ?? command}: ${message}`

/** Changes the list once it is loaded. */
export const updateSessions = (change: (list: Session[]) => Session[]) => sessions.update((list) => (list === null ? null : change(list)))

export function upsertSession(session: Session) {
	sessions.update((list) => {
		const all = list ?? []
		return all.some((s) => s.id === session.id) ? all.map((s) => (s.id === session.id ? session : s)) : [...all, session]
	})
}

function patch(id: string, change: Partial<Session>) {
	updateSessions((list) => list.map((s) => (s.id === id ? { ...s, ...change, updatedAt: new Date().toISOString() } : s)))
}

export async function loadSessions() {
	const all: Session[] = []
	let cursor: string | undefined
	for (;;) {
		const { data, error } = await api.sessions.get({ query: { limit: 200, ...(cursor ? { cursor } : {}) } })
		if (error) throw error
		all.push(...data.items)
		if (!data.nextCursor) break
		cursor = data.nextCursor
	}
	sessions.set(all)
}

onRealtime((message) => {
	switch (message.type) {
		case 'session.snapshot':
			return sessions.set(message.data.sessions)
		case 'session.created':
			// The row was written with the event: read it whole.
			return void api
				.sessions({ id: message.sessionId })
				.get()
				.then(({ data }) => data && upsertSession(data))
		case 'session.deleted':
			return updateSessions((list) => list.filter((s) => s.id !== message.sessionId))
		case 'session.qr.updated':
			return patch(message.sessionId, { status: 'qr', qr: message.data.qr, pairingCode: null })
		case 'session.pairing_code.updated':
			return patch(message.sessionId, { pairingCode: message.data.code })
		case 'session.status.connected':
			dismissError(message.sessionId)
			return patch(message.sessionId, {
				status: 'connected',
				jid: message.data.jid,
				lid: message.data.lid ?? null,
				phoneNumber: message.data.phoneNumber ?? sessions.get()?.find((s) => s.id === message.sessionId)?.phoneNumber ?? null,
				qr: null,
				pairingCode: null,
				lastError: null,
			})
		case 'session.status.disconnected':
			dismissError(message.sessionId)
			return patch(message.sessionId, {
				status: message.data.status,
				qr: null,
				// As the server keeps it: a reconnecting session says why it lost the connection.
				lastError: message.data.status === 'stopped' ? null : (message.data.message ?? message.data.reason),
			})
		case 'session.command.failed':
			return sessionErrors.update((errors) => ({
				...errors,
				[message.sessionId]: { command: message.data.command, message: message.data.error.message, at: message.occurredAt },
			}))
	}
})

account.subscribe((user) => {
	if (!user) sessions.set(null)
})
