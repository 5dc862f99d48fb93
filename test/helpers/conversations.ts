import { expect } from 'bun:test'
import type { StandIn } from '@switchboard/standin'
import { type ApiResponse, type Client, untilStatus } from './sessions'
import { until } from './until'

/**
 * Support desks answer while their customers are still typing: messages to a contact and from it
 * cross, Signal-encrypted through the stand-in as a phone does it. A message that cannot be
 * decrypted never arrives, and a broken Signal session loses every later message of its contact,
 * so `untilAllArrived` names the conversations that lack messages.
 */

/** A paired session of an account, and the client of its tenant. */
export interface Account {
	phone: string
	api: Client
	sessionId: string
}

/** What a run of rounds sent: the customers' messages by account, and the ids of the desks' sends. */
export interface Traffic {
	received: { account: Account; contact: string; id: string; text: string }[]
	sent: string[]
	/** Customers' messages WhatsApp held because the account's companion was offline. */
	held: number
}

export const newTraffic = (): Traffic => ({ received: [], sent: [], held: 0 })

/**
 * One round, all at once: each contact writes `atOnce` messages to each account while each account
 * writes as many to it through the API. Resolves once every one is handed over (a send accepted
 * with 202; a phone's message may wait at WhatsApp for a companion that is offline).
 */
export async function crossingRound(
	standIn: StandIn,
	{ accounts, contacts, round, atOnce }: { accounts: Account[]; contacts: string[]; round: number; atOnce: number },
	traffic: Traffic,
): Promise<void> {
	const work: Promise<unknown>[] = []
	for (const account of accounts) {
		for (const contact of contacts) {
			for (let n = 0; n < atOnce; n++) {
				const customer = `from the customer, round ${round} #${n}`
				work.push(
					standIn.deliver({ to: account.phone, from: contact, text: customer, encryption: 'signal' }).then(({ id, devices }) => {
						traffic.received.push({ account, contact, id, text: customer })
						if (devices.some((d) => d.as === 'queued')) traffic.held++
					}),
				)
				work.push(sendWhenConnected(account, contact, `from the desk, round ${round} #${n}`).then((id) => traffic.sent.push(id)))
			}
		}
	}
	await Promise.all(work)
}

/**
 * Sends as a desk's client does: a send refused while the session is not connected (409
 * `SESSION_NOT_CONNECTED`: its socket reconnects, or its runner was lost and another takes it
 * over) goes again once it is. Resolves with the message id.
 */
export async function sendWhenConnected({ api, sessionId }: Pick<Account, 'api' | 'sessionId'>, contact: string, text: string): Promise<string> {
	for (;;) {
		const { status, body } = await api.post(`/sessions/${sessionId}/messages`, { to: `+${contact}`, text })
		if (status === 409 && body.error?.code === 'SESSION_NOT_CONNECTED') {
			await untilStatus(api, sessionId, 'connected', 30_000)
			continue
		}
		expect(status).toBe(202)
		return body.messageId
	}
}

/** Sends `text` to the contact as the desk; resolves once the contact's phone has decrypted it (asked again if need be). */
export async function sendDecrypted(standIn: StandIn, account: Pick<Account, 'api' | 'sessionId'>, contact: string, text: string): Promise<void> {
	const id = await sendWhenConnected(account, contact, text)
	expect((await standIn.waitForSent((m) => m.id === id && !m.undecryptedBy)).text).toBe(text)
}

/** The contact writes `text` to the account; resolves once the server has stored it. */
export async function receiveStored(standIn: StandIn, account: Account, contact: string, text: string): Promise<void> {
	const { id } = await standIn.deliver({ to: account.phone, from: contact, text, encryption: 'signal' })
	expect(await until(async () => (await storedTexts(account, contact)).get(id), `message ${id} stored`)).toBe(text)
}

/** The texts of the contact's chat that the server has stored for the account's session, by message id. */
async function storedTexts({ api, sessionId }: Account, contact: string): Promise<Map<string, string | null>> {
	const texts = new Map<string, string | null>()
	let cursor: string | null = null
	do {
		const page: string = `/chats/${contact}@s.whatsapp.net/messages?sessionId=${sessionId}&limit=100${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`
		const { status, body }: ApiResponse<{ items: { id: string; text: string | null }[]; nextCursor: string | null }> = await api.get(page)
		// The chat is not there until its first message is stored.
		if (status === 404 && !cursor) return texts
		expect(status).toBe(200)
		for (const m of body.items) texts.set(m.id, m.text)
		cursor = body.nextCursor
	} while (cursor)
	return texts
}

/** The customers' messages not (yet) stored with their text, as `account←contact` of each. */
async function notStored(traffic: Traffic): Promise<string[]> {
	const missing: string[] = []
	const stored = new Map<string, Map<string, string | null>>()
	for (const { account, contact, id, text } of traffic.received) {
		const key = `${account.phone}←${contact}`
		if (!stored.has(key)) stored.set(key, await storedTexts(account, contact))
		if (stored.get(key)!.get(id) !== text) missing.push(key)
	}
	return missing
}

/**
 * Waits until every customer message is stored with its text and every desk message has reached
 * its phone, and expects each of those to have decrypted there. A timeout says which conversations
 * lack messages, and how many. The default leaves a loaded host (a CI run's other test files) time
 * to work off what a run sent: alone, it is done within a few seconds of the last round.
 */
export async function untilAllArrived(standIn: StandIn, accounts: Account[], traffic: Traffic, timeoutMs = 45_000): Promise<void> {
	await untilNoneLeft(() => notStored(traffic), `the customers' messages stored (of ${traffic.received.length})`, timeoutMs)
	/**
	 * The desks' messages their contact has not decrypted (yet), with why not. The last copy of a
	 * message counts: one the phone could not decrypt is asked for again, and comes again.
	 */
	const notDecrypted = () => {
		const arrived = new Map(accounts.flatMap(({ phone }) => standIn.sent(phone)).map((m) => [m.id, m]))
		return traffic.sent.flatMap((id) => {
			const copy = arrived.get(id)
			return !copy || copy.undecryptedBy || copy.text === undefined ? [copy?.decryptError ?? 'not arrived'] : []
		})
	}
	await untilNoneLeft(notDecrypted, `the desk's messages decrypted on the customers' phones (of ${traffic.sent.length})`, timeoutMs)
	// WhatsApp's retries heal a session that went wrong, but its customer reads "waiting for this
	// message" until then: in a healthy conversation no message is asked for again.
	expect(retriesAsked(standIn)).toEqual({ byCompanions: 0, byPhones: 0 })
}

/** Waits until `left()` is empty; a timeout says how many of each kind were left. */
async function untilNoneLeft(left: () => string[] | Promise<string[]>, what: string, timeoutMs: number): Promise<void> {
	await until(async () => (await left()).length === 0, what, timeoutMs).catch(async (error: Error) => {
		const kinds = Object.entries(Object.groupBy(await left(), (k) => k)).map(([k, ks]) => `${ks!.length}× ${k}`)
		throw new Error(`${error.message}: ${kinds.join(', ')} left`)
	})
}

/** How often messages were asked for again: by the companions (a phone's did not decrypt) and by the phones. */
export function retriesAsked(standIn: StandIn): { byCompanions: number; byPhones: number } {
	return {
		byCompanions: standIn.core.log.list('receipt').filter((e) => e.receipt.type === 'retry').length,
		byPhones: standIn.sent().filter((m) => m.undecryptedBy).length,
	}
}
