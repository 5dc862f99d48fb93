import { TypeCompiler, type TypeCheck } from '@sinclair/typebox/compiler'
import type { TSchema } from '@sinclair/typebox'
import {
	type AnyEnvelope,
	command,
	type Command,
	type CommandDataOf,
	QueryAnswers,
	type QueryAnswer,
	type QueryParams,
	type QueryReply,
	type QueryType,
} from '../core/catalogue'
import { TimeoutError, withTimeout } from '../lib/timeout'
import type { Logger } from '../logger'
import type { Bus } from './bus'

/**
 * Request/reply over the backbone, for the few things the API must hear an answer to (is this
 * number on WhatsApp, this contact's picture). The one place it is built:
 *
 * 1. The asker publishes a query (a session command of a `QueryData` type, see
 *    core/catalogue/queries.ts) carrying its id, the asker's inbox and a deadline. It lands on the
 *    session's partition of `session-queries`, which the runner that owns the session reads beside
 *    its commands; no runner owning the partition means no answer.
 * 2. That runner answers with `reply()` on the bus's side channel (`notify`: Redis pub/sub, or a
 *    call in process), addressed to the inbox, keyed by the query's id. A query found after its
 *    deadline (a runner that took the partition over late) is dropped unanswered.
 * 3. The asker waits for the answer until the deadline and then gives up with NoAnswerError.
 *
 * Each asker (one per API process) listens on one inbox of its own, opened on first use. An
 * answer to nobody (the asker gave up, or restarted) is simply lost. Queries are read-only, so a
 * query run twice (a runner died before acknowledging it) does no harm.
 */

/** No runner answered before the deadline: the session's runner is down, busy, or being replaced. */
export class NoAnswerError extends Error {
	override name = 'NoAnswerError'
	constructor(
		readonly type: QueryType,
		readonly timeoutMs: number,
	) {
		super(`no runner answered ${type} within ${timeoutMs} ms`)
	}
}

/** The runner answered that it could not do it (`code`: `session_not_connected`, …). */
export class QueryFailedError extends Error {
	override name = 'QueryFailedError'
	constructor(
		readonly code: string,
		message: string,
	) {
		super(message)
	}
}

export interface Requester {
	/** Runs a query on the session's runner; resolves with its answer, or throws NoAnswerError / QueryFailedError. */
	ask<K extends QueryType>(
		type: K,
		meta: { tenantId: string; sessionId: string },
		params: QueryParams<K>,
		options?: { timeoutMs?: number },
	): Promise<QueryAnswer<K>>
	close(): Promise<void>
}

interface Waiting {
	type: QueryType
	resolve(answer: unknown): void
	reject(err: Error): void
}

const answerChecks = Object.fromEntries(
	Object.entries(QueryAnswers).map(([type, schema]) => [type, TypeCompiler.Compile(schema as TSchema)]),
) as Record<QueryType, TypeCheck<TSchema>>

export function createRequester({ bus, logger, timeoutMs }: { bus: Bus; logger: Logger; timeoutMs: number }): Requester {
	const log = logger.child({ component: 'requests' })
	// Braces: a Redis Cluster hash tag, like every key that belongs to one thing.
	const inbox = `replies:{${Bun.randomUUIDv7()}}`
	const waiting = new Map<string, Waiting>()
	let listening: Promise<() => Promise<void>> | null = null

	function onReply(payload: string) {
		let reply: QueryReply
		try {
			reply = JSON.parse(payload) as QueryReply
		} catch {
			log.warn('dropping a reply that is not JSON')
			return
		}
		const w = waiting.get(reply?.requestId)
		// Late (the asker gave up) or a repeat (the query ran twice): nobody waits for it.
		if (!w) return
		waiting.delete(reply.requestId)
		if (!reply.ok) return w.reject(new QueryFailedError(String(reply.error?.code), String(reply.error?.message)))
		if (!answerChecks[w.type].Check(reply.answer))
			return w.reject(new QueryFailedError('invalid_answer', `the runner's answer to ${w.type} does not match the catalogue`))
		w.resolve(reply.answer)
	}

	return {
		async ask(type, meta, params, options = {}) {
			const wait = options.timeoutMs ?? timeoutMs
			const deadline = Date.now() + wait
			// A failed subscription (Redis away) is tried again by the next query, not remembered; one
			// that does not answer (Redis frozen) holds this query no longer than its wait.
			listening ??= bus.listen(inbox, onReply).catch((err) => {
				listening = null
				throw err
			})
			await withTimeout(listening, wait, 'listening for answers').catch((err) => {
				throw err instanceof TimeoutError ? new NoAnswerError(type, wait) : err
			})
			// The query expires when the asker gives up, not `wait` after the subscription came: a runner
			// that reads it after the asker's NoAnswerError drops it rather than act for nobody.
			const data = { ...params, reply: { inbox, expiresAt: new Date(deadline).toISOString() } } as unknown as CommandDataOf<typeof type>
			const query = command(type, meta, data)
			const answered = new Promise<QueryAnswer<typeof type>>((resolve, reject) => {
				// Gives up only once `Date.now()`, the clock runners read `expiresAt` by, has reached the
				// deadline: a timer may fire a fraction of a millisecond early, while the query still reads live.
				let timer: Timer
				const giveUp = () => {
					const left = deadline - Date.now()
					if (left > 0) {
						timer = setTimeout(giveUp, left)
						return
					}
					waiting.delete(query.id)
					reject(new NoAnswerError(type, wait))
				}
				timer = setTimeout(giveUp, Math.max(1, deadline - Date.now()))
				waiting.set(query.id, {
					type,
					resolve: (answer) => {
						clearTimeout(timer)
						resolve(answer as QueryAnswer<typeof type>)
					},
					reject: (err) => {
						clearTimeout(timer)
						reject(err)
					},
				})
			})
			// The answer can come before the publish returns (on a cluster the publish also waits for a
			// replica): a refusal must not count as unhandled meanwhile; it is awaited below.
			answered.catch(() => {})
			// Not awaited on its own: a publish that hangs (Redis frozen) ends with the wait, as no answer.
			bus.publish([query as unknown as AnyEnvelope]).catch((err) => {
				waiting.get(query.id)?.reject(err as Error)
				waiting.delete(query.id)
			})
			return await answered
		},

		async close() {
			for (const [id, w] of waiting) {
				waiting.delete(id)
				w.reject(new Error('the API is shutting down'))
			}
			// A subscription still on its way (Redis frozen) is not waited for past a second.
			const stop = listening && (await withTimeout(listening, 1_000, 'the subscription').catch(() => null))
			listening = null
			await stop?.()
		},
	}
}

/** A query's command as the runner reads it. */
export type Query = Extract<Command, { type: QueryType }>

/** The runner's side: sends `reply` to the query's asker (nobody hears it when the asker is gone). */
export async function reply(
	bus: Bus,
	query: Query,
	result: { ok: true; answer: unknown } | { ok: false; error: { code: string; message: string } },
): Promise<void> {
	await bus.notify(query.data.reply.inbox, JSON.stringify({ requestId: query.id, ...result }))
}

/** Whether the asker still waits: a query found after its deadline is dropped unanswered. */
export const isExpired = (query: Query, now = Date.now()) => Date.parse(query.data.reply.expiresAt) <= now
