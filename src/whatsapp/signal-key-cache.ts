import type { CacheStore } from '@whiskeysockets/baileys'
import { LRUCache } from 'lru-cache'

/** Signal keys held in memory by one process, over all its sessions; past this the least recently used go. */
const ENTRIES = 100_000

/** A cached deletion: Baileys caches a key written as null, and reads it back as null. */
const DELETED = Symbol('deleted')

let shared: LRUCache<string, object | typeof DELETED> | undefined
let stores = 0

/**
 * The cache behind a session's `makeCacheableSignalKeyStore`, in place of its default
 * (`@cacheable/node-cache`), which sizes every value it stores by walking it: a Signal session
 * record's buffers byte by byte. With live messages that walk was a fifth of a runner's CPU, inside
 * the mutex every key lookup of the session waits for.
 *
 * One LRU for the process, allocated on first use, bounds what all sessions hold together. Each
 * store gets a prefix of its own, never reused: a session opened again, or by another runner in
 * the same process (tests), starts empty instead of reading what an earlier owner cached.
 */
export function signalKeyCache(): CacheStore {
	// Bounded by count through `maxSize` rather than `max`: with `max` the LRU allocates all its slots
	// up front, megabytes before the first session has a key.
	shared ??= new LRUCache({ maxSize: ENTRIES, sizeCalculation: () => 1 })
	const cache = shared
	const prefix = `${++stores}:`
	return {
		get<T>(key: string) {
			const value = cache.get(prefix + key)
			return (value === DELETED ? null : value) as T | undefined
		},
		set<T>(key: string, value: T) {
			cache.set(prefix + key, value === null || value === undefined ? DELETED : (value as object))
		},
		del(key: string) {
			cache.delete(prefix + key)
		},
		flushAll() {
			for (const key of [...cache.keys()]) if (key.startsWith(prefix)) cache.delete(key)
		},
	}
}
