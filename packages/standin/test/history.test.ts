import { afterAll, beforeAll, describe, expect, it } from 'bun:test'
import { jidNormalizedUser, proto } from '@whiskeysockets/baileys'
import { startStandIn, type StandIn } from '../src'
import { trustRootKey } from './root-key'
import { pairedCompanion } from './companion'

let standIn: StandIn

beforeAll(async () => {
	standIn = await startStandIn({ initialHistory: { chats: 2, messagesPerChat: 3 } })
	trustRootKey(standIn.rootPublicKey)
})

afterAll(async () => {
	await standIn.stop()
})

describe('history sync', () => {
	it('a newly linked companion gets the initial bootstrap, then finishes its first sync', async () => {
		const { companion } = await pairedCompanion(standIn, '15550000200', 'Ada')
		const [initial] = await companion.until(() => companion.histories.length > 0 && companion.histories, 'initial history')
		expect(initial).toMatchObject({ syncType: proto.HistorySync.HistorySyncType.INITIAL_BOOTSTRAP, progress: 100 })
		expect(initial!.messages).toHaveLength(6)
		await companion.until(() => companion.auth.creds.accountSyncCounter === 1, 'first sync finished')
		// The phone shared an app-state key, and the app state carried the account's push name.
		expect(companion.auth.creds.myAppStateKeyId).toBeString()
		expect(companion.auth.creds.me?.name).toBe('Ada')
		companion.end()
	})

	it('a second companion of the same account gets its own initial sync, the first gets none again', async () => {
		const first = await pairedCompanion(standIn, '15550000203')
		await first.companion.untilInitialSync()
		const second = await pairedCompanion(standIn, '15550000203')
		expect(second.jid).toBe('15550000203:2@s.whatsapp.net')
		await second.companion.untilInitialSync()

		const { id } = await standIn.deliverText({ to: '15550000203', from: '15550000298', text: 'to both' })
		expect(await first.companion.textOf(id)).toBe('to both')
		expect(await second.companion.textOf(id)).toBe('to both')
		expect(first.companion.histories).toHaveLength(1)
		first.companion.end()
		second.companion.end()
	})

	it('pushes 5,000 messages in chunks, each with its progress', async () => {
		const { companion } = await pairedCompanion(standIn, '15550000201')
		await companion.untilInitialSync()
		const before = companion.histories.length

		const started = performance.now()
		const pushed = await standIn.pushHistory({ to: '15550000201', chats: 50, messagesPerChat: 100, chunkSize: 500 })
		const chunks = await companion.until(() => {
			const received = companion.histories.slice(before)
			return received.reduce((sum, set) => sum + set.messages.length, 0) >= 5_000 && received
		}, '5,000 history messages')
		const elapsed = performance.now() - started
		console.log(`history sync: 5,000 messages in ${pushed.chunks} chunks, ${elapsed.toFixed(0)} ms`)

		expect(pushed).toMatchObject({ chunks: 10, messages: 5_000 })
		expect(chunks.map((set) => set.progress)).toEqual([10, 20, 30, 40, 50, 60, 70, 80, 90, 100])
		expect(chunks.every((set) => set.syncType === proto.HistorySync.HistorySyncType.RECENT)).toBe(true)
		const ids = new Set(chunks.flatMap((set) => set.messages.map((message) => message.key.id)))
		expect(ids.size).toBe(5_000)
		companion.end()
	})

	it('can name history chats by LID, with the phone-number mapping beside them', async () => {
		const { companion } = await pairedCompanion(standIn, '15550000202')
		await companion.untilInitialSync()
		const before = companion.histories.length
		await standIn.pushHistory({
			to: '15550000202',
			addressing: 'lid',
			conversations: [{ with: '15550000299', name: 'Dora', messages: [{ text: 'old news' }, { text: 'mine', fromMe: true }] }],
		})
		const [set] = await companion.until(() => companion.histories.length > before && companion.histories.slice(before), 'LID history')
		expect(set!.messages.map((message) => message.key.remoteJid)).toEqual([standIn.lidOf('15550000299'), standIn.lidOf('15550000299')])
		// Newest first, as the phone sends a conversation.
		expect(set!.messages.map((message) => message.message?.conversation)).toEqual(['mine', 'old news'])
		const mapping = await companion.socket!.signalRepository.lidMapping.getPNForLID(standIn.lidOf('15550000299'))
		expect(set!.chats).toEqual([
			expect.objectContaining({
				id: standIn.lidOf('15550000299'),
				name: 'Dora',
				unreadCount: 0,
				archived: false,
				conversationTimestamp: expect.anything(),
			}),
		])
		expect(jidNormalizedUser(mapping ?? '')).toBe('15550000299@s.whatsapp.net')
		companion.end()
	})
})
