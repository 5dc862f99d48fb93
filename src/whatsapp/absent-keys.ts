import type { SignalDataSet, SignalDataTypeMap, SignalKeyStore } from '@whiskeysockets/baileys'

/** Absences remembered at most per store; past this the oldest are asked for again. */
const MAX_ABSENT = 10_000

/**
 * Remembers which keys `store` found missing, and answers them as missing without asking again.
 *
 * Baileys looks up a contact's device list and LID mapping for every message it receives, and most
 * contacts have neither stored. Its cache (`makeCacheableSignalKeyStore`) keeps only keys that
 * exist and serialises every lookup behind one mutex, so each such message waited for a PostgreSQL
 * round trip and held up the session's next ones: at 10 messages a second per session the socket
 * fell seconds behind. An absence stays true until this store writes the key, because while the
 * fence of its lease holds, the store is the only writer of its session's keys; a write that
 * overlaps a lookup keeps that lookup's absences from being remembered.
 */
export function rememberAbsentKeys(store: SignalKeyStore, max = MAX_ABSENT): SignalKeyStore {
	const absent = new Set<string>()
	let writes = 0
	const keyOf = (type: string, id: string) => `${type}\u0000${id}`
	const remember = (key: string) => {
		absent.add(key)
		if (absent.size > max) absent.delete(absent.values().next().value!)
	}
	return {
		async get<T extends keyof SignalDataTypeMap>(type: T, ids: string[]) {
			const wanted = ids.filter((id) => !absent.has(keyOf(type, id)))
			if (!wanted.length) return {}
			const before = writes
			const found = await store.get(type, wanted)
			if (writes === before) for (const id of wanted) if (found[id] === undefined || found[id] === null) remember(keyOf(type, id))
			return found
		},
		async set(data: SignalDataSet) {
			writes++
			const deleted: string[] = []
			for (const [type, entries] of Object.entries(data))
				for (const [id, value] of Object.entries(entries ?? {})) {
					absent.delete(keyOf(type, id))
					if (value === null || value === undefined) deleted.push(keyOf(type, id))
				}
			try {
				await store.set(data)
				for (const key of deleted) remember(key)
			} finally {
				writes++
			}
		},
		...(store.clear ? { clear: () => store.clear!() } : {}),
	}
}
