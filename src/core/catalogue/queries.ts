import { Type as T, type Static, type TSchema } from '@sinclair/typebox'
import { IsoTime, Jid } from './shapes-base'

/**
 * Queries: session commands that want an answer (is this number on WhatsApp, this contact's
 * picture). They are partitioned by session like every command, on a stream beside the commands
 * (`session-queries:{p}`, see streams.ts), so the runner that owns the session answers them, and
 * never after a send that waits for its connection; each carries where to send the answer
 * (`reply`) and until when anyone waits for it. The answer goes back on
 * the bus's side channel (see src/bus/requests.ts), never on a stream: it is not an event.
 */

/** Where the answer of a query goes, and when the asker stops waiting (a runner drops it unanswered after that). */
export const ReplyRoute = T.Object({
	inbox: T.String({ minLength: 1, maxLength: 200 }),
	expiresAt: IsoTime,
})
export type ReplyRoute = Static<typeof ReplyRoute>

/** Numbers one check asks WhatsApp about at most: the API's own cap (a setting) stays below it. */
export const NUMBER_CHECK_HARD_MAX = 500

/** `data` of every query type: its parameters and `reply`. */
export const QueryData = {
	/** Which of these phone numbers (digits, international form) have a WhatsApp account: one usync query. */
	'session.contacts.check': T.Object({
		reply: ReplyRoute,
		phoneNumbers: T.Array(T.String({ pattern: '^\\d{5,20}$' }), { minItems: 1, maxItems: NUMBER_CHECK_HARD_MAX }),
	}),
	/** The profile picture of a user or group: the runner fetches it into the tenant's media store. */
	'session.profile_picture.get': T.Object({ reply: ReplyRoute, jid: Jid }),
} satisfies Record<string, TSchema>

const Sha256 = T.String({ pattern: '^[0-9a-f]{64}$' })

/** The answer of each query type, when it succeeds. */
export const QueryAnswers = {
	'session.contacts.check': T.Object({
		results: T.Array(
			T.Object({
				/** The number as asked (digits). */
				phoneNumber: T.String(),
				exists: T.Boolean(),
				jid: T.Optional(Jid),
				lid: T.Optional(Jid),
			}),
		),
	}),
	'session.profile_picture.get': T.Object({
		/** Null: the contact has no picture, or does not show it to this account. */
		picture: T.Union([T.Null(), T.Object({ sha256: Sha256, size: T.Integer({ minimum: 0 }), mimetype: T.String({ minLength: 1, maxLength: 255 }) })]),
	}),
} satisfies Record<keyof typeof QueryData, TSchema>

export type QueryType = keyof typeof QueryData
export type QueryParams<K extends QueryType> = Omit<Static<(typeof QueryData)[K]>, 'reply'>
export type QueryAnswer<K extends QueryType> = Static<(typeof QueryAnswers)[K]>
export const isQueryType = (type: string): type is QueryType => Object.hasOwn(QueryData, type)

/** What goes back to the asker: the answer, or why there is none. */
export type QueryReply<K extends QueryType = QueryType> =
	| { requestId: string; ok: true; answer: QueryAnswer<K> }
	| { requestId: string; ok: false; error: { code: string; message: string } }
