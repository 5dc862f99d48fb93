import { describe, expect, it } from 'bun:test'
import {
	command,
	COMMAND_TYPES,
	domainEvent,
	DOMAIN_EVENT_TYPES,
	InvalidEnvelopeError,
	parseEnvelope,
	validateEnvelope,
} from '../../src/core/catalogue'
import { commandPartition, commandStream, commandStreams, deadLetterStream, DOMAIN_EVENTS, queryStream, streamFor } from '../../src/core/streams'
import { SESSION, TENANT } from './helpers'

const meta = { tenantId: TENANT, sessionId: SESSION }

describe('the event catalogue', () => {
	it('lists every domain event and command', () => {
		expect(DOMAIN_EVENT_TYPES.sort()).toEqual([
			'session.chats.upsert',
			'session.command.failed',
			'session.contacts.upsert',
			'session.created',
			'session.deleted',
			'session.history.sync',
			'session.media.updated',
			'session.messages.update',
			'session.messages.upsert',
			'session.pairing_code.updated',
			'session.presence.updated',
			'session.qr.updated',
			'session.status.connected',
			'session.status.disconnected',
		])
		expect(COMMAND_TYPES.sort()).toEqual([
			'session.chats.read',
			'session.contacts.check',
			'session.logout',
			'session.media.download',
			'session.messages.send',
			'session.presence.send',
			'session.presence.subscribe',
			'session.profile_picture.get',
			'session.start',
			'session.stop',
		])
	})

	it('builds envelopes with a uuid v7 id and an ISO time', () => {
		const e = domainEvent('session.pairing_code.updated', meta, { code: 'ABCD1234' })
		expect(e.id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-/)
		expect(new Date(e.occurredAt).toISOString()).toBe(e.occurredAt)
		expect(parseEnvelope(JSON.stringify(e))).toEqual({ ok: true, envelope: e })
	})

	it('refuses to build an envelope whose data does not match its type', () => {
		expect(() => command('session.messages.send', meta, { messageId: 'X', to: 'a', content: { text: '' } })).toThrow(InvalidEnvelopeError)
	})

	it('names the failing fields of an invalid envelope', () => {
		const e = domainEvent('session.qr.updated', meta, { qr: 'x' })
		const result = validateEnvelope({ ...e, tenantId: 'not-a-uuid', data: { qr: 1 } })
		expect(result.ok).toBe(false)
		expect(!result.ok && result.error).toContain('/tenantId')
		expect(validateEnvelope({ ...e, type: 'nope' })).toEqual({ ok: false, error: 'unknown type "nope"' })
	})
})

describe('stream names', () => {
	it('puts commands on a partition chosen by the session, with a Redis Cluster hash tag', () => {
		const cmd = command('session.start', meta, {})
		expect(streamFor(cmd, 32)).toBe(commandStream(SESSION, 32))
		expect(commandStream(SESSION, 32)).toMatch(/^session-commands:\{([0-9]|[12][0-9]|3[01])\}$/)
		expect(streamFor(domainEvent('session.deleted', meta, {}), 32)).toBe(DOMAIN_EVENTS)
		// Queries beside the commands of the same partition, under the same hash tag.
		const query = command('session.profile_picture.get', meta, {
			jid: '15550000001@s.whatsapp.net',
			reply: { inbox: 'i', expiresAt: new Date().toISOString() },
		})
		expect(streamFor(query, 32)).toBe(queryStream(commandPartition(SESSION, 32)))
		expect(queryStream(7)).toBe('session-queries:{7}')
		expect(deadLetterStream(commandStream(SESSION, 32))).toBe(`${commandStream(SESSION, 32)}:dead`)
	})

	it('hashes a session to the same partition every time, spreading sessions over all of them', () => {
		expect(commandPartition('01900000-0000-7000-8000-0000000000aa', 32)).toBe(commandPartition('01900000-0000-7000-8000-0000000000aa', 32))
		const used = new Set(Array.from({ length: 2_000 }, () => commandPartition(Bun.randomUUIDv7(), 32)))
		expect(used.size).toBe(32)
		expect(commandStreams(3)).toEqual(['session-commands:{0}', 'session-commands:{1}', 'session-commands:{2}'])
	})
})
