import { type Bus, isExpired, type Query, reply } from '../../bus'
import type { QueryAnswer } from '../../core/catalogue'
import type { Logger } from '../../logger'
import { SendRefused } from '../../whatsapp/media/outgoing'
import { NotConnectedError, type SessionConnection } from '../../whatsapp/port'
import type { SessionRegistry } from './sessions'

type Reply = Parameters<typeof reply>[2]

/**
 * Answers queries (src/bus/requests.ts) on the sessions this runner holds. A query is answered
 * once, success or refusal, and never retried: the asker waits only until its deadline, and a
 * query found after it is dropped unanswered. Queries only read, so one run twice is harmless.
 */
export function createQueryAnswerer({ sessions, bus, logger }: { sessions: SessionRegistry; bus: Bus; logger: Logger }) {
	async function run(query: Query, connection: SessionConnection): Promise<QueryAnswer<Query['type']>> {
		switch (query.type) {
			case 'session.contacts.check':
				return { results: await connection.checkNumbers(query.data.phoneNumbers) }
			case 'session.profile_picture.get':
				return { picture: await connection.profilePicture(query.data.jid) }
		}
	}

	async function result(query: Query): Promise<Reply> {
		const r = sessions.get(query.sessionId, query.tenantId)
		if (r?.connection.status !== 'connected')
			return {
				ok: false,
				error: { code: 'session_not_connected', message: `the session is not connected (status: ${r?.connection.status ?? 'not running'})` },
			}
		try {
			return { ok: true, answer: await run(query, r.connection) }
		} catch (err) {
			const code = err instanceof NotConnectedError ? 'session_not_connected' : err instanceof SendRefused ? err.code : 'query_failed'
			logger.info({ err, sessionId: query.sessionId, query: query.type }, 'query failed')
			return { ok: false, error: { code, message: (err as Error).message || String(err) } }
		}
	}

	return {
		async answer(query: Query): Promise<void> {
			if (isExpired(query)) {
				logger.info({ sessionId: query.sessionId, query: query.type }, 'dropping a query nobody waits for any more')
				return
			}
			const answer = await result(query)
			// The asker gave up or is gone: nobody hears it, and that is fine.
			await reply(bus, query, answer).catch((err) => logger.warn({ err, query: query.type }, 'could not send the answer of a query'))
		},
	}
}

export type QueryAnswerer = ReturnType<typeof createQueryAnswerer>
