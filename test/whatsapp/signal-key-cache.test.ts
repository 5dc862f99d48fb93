import { describe, expect, test } from 'bun:test'
import { makeCacheableSignalKeyStore, type SignalDataSet, type SignalDataTypeMap, type SignalKeyStore } from '@whiskeysockets/baileys'
import { signalKeyCache } from '../../src/whatsapp/signal-key-cache'

/** A key store that counts the reads reaching it. */
function countingStore() {
	const rows = new Map<string, unknown>()
	const reads: string[] = []
	const store: SignalKeyStore = {
		async get<T extends keyof SignalDataTypeMap>(type: T, ids: string[]) {
			const found: { [id: string]: SignalDataTypeMap[T] } = {}
			for (const id of ids) {
				reads.push(`${type}.${id}`)
				if (rows.has(`${type}.${id}`)) found[id] = rows.get(`${type}.${id}`) as SignalDataTypeMap[T]
			}
			return found
		},
		async set(data: SignalDataSet) {
			for (const [type, entries] of Object.entries(data))
				for (const [id, value] of Object.entries(entries ?? {})) value ? rows.set(`${type}.${id}`, value) : rows.delete(`${type}.${id}`)
		},
		async clear() {
			rows.clear()
		},
	}
	return { store, reads }
}

describe('signal key cache', () => {
	test('a key written or read once is answered from memory after', async () => {
		const { store, reads } = countingStore()
		const keys = makeCacheableSignalKeyStore(store, undefined, signalKeyCache())
		await keys.set({ 'device-list': { a: ['1', '2'] } })
		expect(await keys.get('device-list', ['a'])).toEqual({ a: ['1', '2'] })
		await store.set({ 'device-list': { b: ['3'] } })
		expect(await keys.get('device-list', ['b'])).toEqual({ b: ['3'] })
		expect(await keys.get('device-list', ['b'])).toEqual({ b: ['3'] })
		expect(reads).toEqual(['device-list.b'])
	})

	test('a deleted key reads as null from memory, as with Baileys’ default cache', async () => {
		const { store, reads } = countingStore()
		const keys = makeCacheableSignalKeyStore(store, undefined, signalKeyCache())
		await keys.set({ 'device-list': { a: ['1'] } })
		await keys.set({ 'device-list': { a: null } })
		expect(await keys.get('device-list', ['a'])).toEqual({ a: null } as never)
		expect(reads).toEqual([])
	})

	test('stores do not see each other’s keys, and clearing one leaves the others', async () => {
		const first = countingStore()
		const second = countingStore()
		const one = makeCacheableSignalKeyStore(first.store, undefined, signalKeyCache())
		const two = makeCacheableSignalKeyStore(second.store, undefined, signalKeyCache())
		await one.set({ 'device-list': { a: ['1'] } })
		await two.set({ 'device-list': { a: ['2'] } })
		expect(await one.get('device-list', ['a'])).toEqual({ a: ['1'] })
		expect(await two.get('device-list', ['a'])).toEqual({ a: ['2'] })
		await one.clear!()
		expect(await one.get('device-list', ['a'])).toEqual({})
		expect(first.reads).toEqual(['device-list.a'])
		expect(await two.get('device-list', ['a'])).toEqual({ a: ['2'] })
		expect(second.reads).toEqual([])
	})
})
