import type { proto } from '@whiskeysockets/baileys'
import type { SentMedia } from './media/types'
import type { CompanionPresence } from './people'

/** A message stanza the companion sent, as the stand-in recorded it. */
export interface SentMessage {
	id: string
	/** The chat it was addressed to (phone-number or LID JID), or the own JID for peer messages. */
	to: string
	/** The companion that sent it. */
	from: string
	type: string
	category?: string
	/** Every device JID it was encrypted for. */
	recipients: string[]
	/** The decrypted content, when the stand-in held a key for one of the copies. */
	message?: proto.IMessage
	text?: string
	decryptError?: string
	/** The contact's device whose copy did not decrypt: its phone asks the companion for it again. */
	undecryptedBy?: string
	/** For a media message: the checks of the file the companion uploaded (`readSentMedia` gives its bytes). */
	media?: SentMedia
	at: number
}

/** A receipt the companion sent for a message the stand-in delivered. */
export interface CompanionReceipt {
	id: string
	ids: string[]
	to: string
	type: string
	from: string
}

export type StandInEvent =
	/** A companion's WebSocket opened (before any handshake); `at` in ms since the epoch. */
	| { type: 'socket-opened'; connectionId: number; at: number }
	| { type: 'registration'; connectionId: number; refs: string[] }
	| { type: 'pairing-code-requested'; connectionId: number; phone: string }
	| { type: 'paired'; device: string; phone: string }
	| { type: 'login'; device: string; connectionId: number; live: number }
	| { type: 'login-refused'; connectionId: number; username: string; reason: number }
	| { type: 'disconnected'; connectionId: number; device?: string }
	| { type: 'sent'; message: SentMessage }
	| { type: 'receipt'; receipt: CompanionReceipt }
	/** A history-sync chunk went out to a companion (`index` from 1 of `count`), paced by its receipts. */
	| { type: 'history-chunk'; device: string; id: string; index: number; count: number }
	| { type: 'logout'; device: string }
	| { type: 'iq'; connectionId: number; device?: string; xmlns: string; iqType: string; child?: string }
	| { type: 'media-upload'; path: string; size: number; tokenMatched: boolean }
	| { type: 'media-download'; path: string; status: number; range?: string }
	| { type: 'media-retry'; id: string; device: string; result: string; directPath?: string }
	| { type: 'presence'; presence: CompanionPresence }
	/** A usync query that asked whether numbers are on WhatsApp (the `contact` protocol), with the numbers asked. */
	| { type: 'number-lookup'; device?: string; phones: string[] }

type EventOf<T extends StandInEvent['type']> = Extract<StandInEvent, { type: T }>

interface Waiter {
	type: string
	predicate: (event: StandInEvent) => boolean
	resolve: (event: StandInEvent) => void
}

/**
 * Everything that happened, in order, with promises that resolve on an event instead of sleeping.
 * `waitFor` also looks at past events, so awaiting something that already happened is not a race;
 * use a predicate (or `after`) when the same kind of event happens more than once.
 */
export class EventLog {
	private readonly events: Array<StandInEvent & { seq: number }> = []
	private readonly waiters = new Set<Waiter>()
	private readonly listeners = new Set<(event: StandInEvent) => void>()
	private seq = 0

	constructor(private readonly limit = 50_000) {}

	/** A position in the log: pass it as `after` to wait only for what comes next. */
	get position(): number {
		return this.seq
	}

	emit(event: StandInEvent): void {
		this.events.push({ ...event, seq: ++this.seq })
		if (this.events.length > this.limit) this.events.splice(0, this.events.length - this.limit)
		for (const listener of this.listeners) listener(event)
		for (const waiter of this.waiters) {
			if (waiter.type === event.type && waiter.predicate(event)) {
				this.waiters.delete(waiter)
				waiter.resolve(event)
			}
		}
	}

	/** Calls `listener` for every later event; returns the unsubscribe function. */
	subscribe(listener: (event: StandInEvent) => void): () => void {
		this.listeners.add(listener)
		return () => this.listeners.delete(listener)
	}

	list<T extends StandInEvent['type']>(type: T): EventOf<T>[] {
		return this.events.filter((event) => event.type === type) as unknown as EventOf<T>[]
	}

	waitFor<T extends StandInEvent['type']>(
		type: T,
		predicate: (event: EventOf<T>) => boolean = () => true,
		{ after = 0, timeoutMs = 15_000, signal }: { after?: number; timeoutMs?: number; signal?: AbortSignal } = {},
	): Promise<EventOf<T>> {
		const past = this.events.find((event) => event.seq > after && event.type === type && predicate(event as unknown as EventOf<T>))
		if (past) return Promise.resolve(past as unknown as EventOf<T>)
		return new Promise((resolve, reject) => {
			const stop = (error?: Error) => {
				clearTimeout(timer)
				this.waiters.delete(waiter)
				signal?.removeEventListener('abort', onAbort)
				if (error) reject(error)
			}
			const onAbort = () => stop(new Error(`stand-in: stopped waiting for '${type}'`))
			const waiter: Waiter = {
				type,
				predicate: (event) => predicate(event as EventOf<T>),
				resolve: (event) => {
					stop()
					resolve(event as EventOf<T>)
				},
			}
			const timer = setTimeout(() => stop(new Error(`stand-in: no '${type}' event within ${timeoutMs} ms`)), timeoutMs)
			signal?.addEventListener('abort', onAbort)
			this.waiters.add(waiter)
		})
	}
}
