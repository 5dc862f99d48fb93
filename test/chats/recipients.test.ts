import { describe, expect, it } from 'bun:test'
import { createCursorCodec } from '../../src/lib/cursor'
import { normalizeJid, normalizePhoneNumber, normalizeRecipient } from '../../src/core/jid'

describe('recipients as people write them', () => {
	it.each([
		['+1 555-777 0003', '15557770003@s.whatsapp.net'],
		['+15557770003', '15557770003@s.whatsapp.net'],
		['15557770003', '15557770003@s.whatsapp.net'],
		['(+49) 30/1234 5678', '493012345678@s.whatsapp.net'],
		['0044 20 7946 0000', '442079460000@s.whatsapp.net'],
		['  +1.555.777.0003  ', '15557770003@s.whatsapp.net'],
		['15557770003@s.whatsapp.net', '15557770003@s.whatsapp.net'],
		['15557770003@c.us', '15557770003@s.whatsapp.net'],
		['15557770003:12@s.whatsapp.net', '15557770003@s.whatsapp.net'],
		['15557770003@S.WhatsApp.Net', '15557770003@s.whatsapp.net'],
		['123456789012345@lid', '123456789012345@lid'],
		['123456789012345:3@lid', '123456789012345@lid'],
		['120363025246125486@g.us', '120363025246125486@g.us'],
		['15557770003-1612345678@g.us', '15557770003-1612345678@g.us'],
	])('%p → %p', (input, jid) => {
		expect(normalizeRecipient(input)).toBe(jid)
	})

	it.each([
		'',
		'   ',
		'hello',
		'555-010',
		'0151 1234567',
		'+0 555 777 0003',
		'++15557770003',
		'1555+7770003',
		'+1 555 777 0003 ext 4',
		'1234567890123456',
		'@s.whatsapp.net',
		'abc@s.whatsapp.net',
		'123@s.whatsapp.net',
		'15557770003@example.com',
		'status@broadcast',
		'1234@newsletter',
		'abc@lid',
		'12-34@g.us',
		'15557770003@s.whatsapp.net@s.whatsapp.net',
		'\u0000',
		'1'.repeat(400),
	])('refuses %p', (input) => {
		expect(normalizeRecipient(input)).toBeNull()
	})

	it('gives the digits of a phone number, and the JID forms only through normalizeJid', () => {
		expect(normalizePhoneNumber('+1 555-777 0003')).toBe('15557770003')
		expect(normalizePhoneNumber('15557770003@s.whatsapp.net')).toBeNull()
		expect(normalizeJid('+1 555-777 0003')).toBeNull()
	})
})

describe('keyset cursors', () => {
	const codec = createCursorCodec('a secret of at least thirty-two characters')

	it('round-trips the values of the scope that issued them', () => {
		const cursor = codec.encode('chats:s1', ['2026-01-01T00:00:00.000Z', 'x@s.whatsapp.net', null, true])
		expect(cursor).toMatch(/^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/)
		expect(codec.decode('chats:s1', cursor)).toEqual(['2026-01-01T00:00:00.000Z', 'x@s.whatsapp.net', null, true])
	})

	it('refuses another scope, another secret, a changed payload and garbage with INVALID_CURSOR', () => {
		const cursor = codec.encode('chats:s1', ['a'])
		const [payload, mac] = cursor.split('.') as [string, string]
		const forged = `${Buffer.from(JSON.stringify(['b'])).toString('base64url')}.${mac}`
		for (const [scope, bad] of [
			['chats:s2', cursor],
			['chats:s1', createCursorCodec('another secret of thirty-two characters!').encode('chats:s1', ['a'])],
			['chats:s1', forged],
			['chats:s1', payload],
			['chats:s1', `${cursor}.x`],
			['chats:s1', 'not a cursor'],
			['chats:s1', `${payload}.${mac.slice(0, -2)}`],
			['chats:s1', 'x'.repeat(5000)],
		] as const)
			expect(() => codec.decode(scope, bad)).toThrow(expect.objectContaining({ name: 'InvalidInputError', code: 'INVALID_CURSOR' }))
	})
})
