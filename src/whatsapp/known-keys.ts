import type { SignalDataSet, SignalDataTypeMap, SignalKeyStore } from '@whiskeysockets/baileys'

/** Keys remembered at most per store; past this the oldest are asked for (or written) again. */
const MAX_REMEMBERED = 10_000

/** Absent, or the text a key holds (LID mappings, device lists are not text). */
type Known = { absent: true } | { text: string }

/**
 * Remembers what `store` holds of keys it found missing or that hold text, so that lookups of a
 * missing key and writes of a text it already holds need no round trip.
 *
 * Baileys looks up a contact's device list and LID mapping for every message it receives, and most
 * contacts have neither stored. Its cache (`makeCacheableSignalKeyStore`) keeps only keys that
 * exist and serialises every lookup behind one mutex, so each such message waited for a PostgreSQL
 * round trip and held up the session's next ones: at 10 messages a second per session the socket
 * fell seconds behind. Its LID store then writes the same mapping again for every message of a
 * contact that arrives before the first write is done.
 *
 * What is remembered stays true until this store writes the key, because while the fence of its
 * lease holds the store is the only writer of its session's keys. A write that overlaps a lookup
 * keeps that lookup's findings from being remembered, and a write that fails forgets its keys.
 */
export function rememberKnownKeys(store: SignalKeyStore, max = MAX_REMEMBERED): SignalKeyStore {
	const known = new Map<string, Known>()
	let writes = 0
	const keyOf = (type: string, id: string) => `${type}\u0000${id}`
	const remember = (key: string, what: Known) => {
		known.delete(key)
		known.set(key, what)
		if (known.size > max) known.delete(known.keys().next().value!)
	}
	return {
		async get<T extends keyof SignalDataTypeMap>(type: T, ids: string[]) {
			const result: { [id: string]: SignalDataTypeMap[T] } = {}
			const wanted: string[] = []
			for (const id of ids) {
				const what = known.get(keyOf(type, id))
				if (!what) wanted.push(id)
				else if ('text' in what) result[id] = what.text as SignalDataTypeMap[T]
			}
			if (!wanted.length) return result
			const before = writes
			const found = await store.get(type, wanted)
			for (const id of wanted) {
				const value = found[id]
				if (value !== undefined && value !== null) result[id] = value
				if (writes !== before) continue
				if (value === undefined || value === null) remember(keyOf(type, id), { absent: true })
				else if (typeof value === 'string') remember(keyOf(type, id), { text: value })
			}
			return result
		},
		async set(data: SignalDataSet) {
			const changes: SignalDataSet = {}
			const touched: [string, Known | undefined][] = []
			for (const [type, entries] of Object.entries(data) as [keyof SignalDataSet, Record<string, unknown>][]) {
				for (const [id, value] of Object.entries(entries ?? {})) {
					const key = keyOf(type, id)
					const what = known.get(key)
					if (typeof value === 'string' && what && 'text' in what && what.text === value) continue
					;((changes[type] ??= {}) as Record<string, unknown>)[id] = value
					touched.push([key, value === null || value === undefined ? { absent: true } : typeof value === 'string' ? { text: value } : undefined])
				}
			}
			if (!touched.length) return
			writes++
			// Remembered before the write so that an equal write meanwhile is skipped; forgotten if it fails.
			for (const [key, what] of touched) what ? remember(key, what) : known.delete(key)
			try {
				await store.set(changes)
			} catch (err) {
				for (const [key] of touched) known.delete(key)
				throw err
			} finally {
				writes++
			}
		},
		...(store.clear ? { clear: () => store.clear!() } : {}),
	}
}
