import { describe, expect, it } from 'bun:test'
import { DisconnectReason } from '@whiskeysockets/baileys'
import { backoffDelay, classifyDisconnect, disconnectOf } from '../../src/whatsapp/disconnects'

const paired = { paired: true }

describe('what a closed socket means', () => {
	it('515 asks for a new socket at once', () => {
		expect(classifyDisconnect({ code: 515, message: 'Stream Errored (restart required)' }, paired)).toEqual({
			action: 'restart',
			reason: 'restart_required',
		})
	})

	it('428, 408, 500, 503 and unknown errors are transient', () => {
		for (const code of [428, 408, 500, 503, undefined, 1006]) expect(classifyDisconnect({ code, message: 'x' }, paired).action).toBe('reconnect')
	})

	it('401 and 403 mean logged out', () => {
		expect(classifyDisconnect({ code: 401, message: undefined }, paired)).toMatchObject({ action: 'logged_out', reason: 'logged_out' })
		expect(classifyDisconnect({ code: 403, message: undefined }, paired)).toMatchObject({ action: 'logged_out', reason: 'forbidden' })
	})

	it('440 (replaced by another connection) fails instead of fighting back', () => {
		expect(classifyDisconnect({ code: 440, message: 'Stream Errored (conflict)' }, paired)).toMatchObject({
			action: 'failed',
			reason: 'connection_replaced',
		})
	})

	it('an unscanned QR series ends the attempt; a paired socket’s 408 is only a lost connection', () => {
		const qrEnded = { code: DisconnectReason.timedOut, message: 'QR refs attempts ended' }
		expect(classifyDisconnect(qrEnded, { paired: false })).toMatchObject({ action: 'failed', reason: 'qr_timeout' })
		expect(classifyDisconnect({ code: 408, message: 'Connection was lost' }, paired)).toEqual({ action: 'reconnect', reason: 'connection_lost' })
	})

	it('reads code and message from the Boom Baileys closes with', () => {
		const boom = Object.assign(new Error('Connection Failure'), { isBoom: true, output: { statusCode: 401, payload: {} } })
		expect(disconnectOf(boom)).toEqual({ code: 401, message: 'Connection Failure' })
		expect(disconnectOf(undefined)).toEqual({ code: undefined, message: undefined })
	})
})

describe('backoff', () => {
	const policy = { baseMs: 1_000, maxMs: 30_000 }

	it('doubles per attempt up to the cap, with half of each delay random', () => {
		expect([1, 2, 3, 4, 5, 6, 7].map((n) => backoffDelay(n, policy, () => 1))).toEqual([1_000, 2_000, 4_000, 8_000, 16_000, 30_000, 30_000])
		expect([1, 2, 3].map((n) => backoffDelay(n, policy, () => 0))).toEqual([500, 1_000, 2_000])
	})
})
