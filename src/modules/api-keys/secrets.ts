import { randomBytes } from 'node:crypto'
import { API_KEY_PREFIX } from '../../core/scopes'
import { hashToken } from '../auth/secrets'

/** `sbk_` and 32 random bytes in base64url (43 characters): 256 bits, nothing to guess. */
const KEY_SHAPE = new RegExp(`^${API_KEY_PREFIX}[A-Za-z0-9_-]{43}$`)

export const newApiKey = () => `${API_KEY_PREFIX}${randomBytes(32).toString('base64url')}`

export const isWellFormedApiKey = (candidate: string) => KEY_SHAPE.test(candidate)

/** What lists (and logs) show of a key: `sbk_` and 8 characters, 48 bits of its 256, not enough to use. */
export const apiKeyPrefix = (key: string) => key.slice(0, API_KEY_PREFIX.length + 8)

/**
 * SHA-256 of the key, as stored and looked up. A fast hash is right here, unlike for passwords:
 * the key is 256 random bits, so no amount of hashing speed makes guessing it feasible, and a
 * lookup on every request must cost one index probe, not an argon2 run.
 */
export const hashApiKey = hashToken
