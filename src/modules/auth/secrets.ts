import { createHash, randomBytes } from 'node:crypto'
import { InvalidInputError } from '../../core/errors'

/**
 * Argon2id at OWASP's floor (19 MiB, 2 passes, 1 lane). Measured on the 2-core dev machine:
 * ~60 ms to hash and ~60 ms to verify; the Bun default (64 MiB, t=2) cost 200–260 ms, which a
 * login endpoint under a burst cannot afford on small hosts. Raise both together when hardware allows:
 * hashes carry their parameters, and logins rehash weaker ones (`needsRehash`).
 */
const ARGON2 = { algorithm: 'argon2id', memoryCost: 19_456, timeCost: 2 } as const
const CURRENT_PARAMS = `$argon2id$v=19$m=${ARGON2.memoryCost},t=${ARGON2.timeCost},p=1$`

export const PASSWORD_MIN_LENGTH = 10
export const PASSWORD_MAX_LENGTH = 1_000

export const hashPassword = (password: string) => Bun.password.hash(password, ARGON2)

export const verifyPassword = (password: string, hash: string) => Bun.password.verify(password, hash, 'argon2id')

export const needsRehash = (hash: string) => !hash.startsWith(CURRENT_PARAMS)

// Verifying against this when the email is unknown makes "no such account" cost the same as
// "wrong password", so login timing does not reveal which addresses have accounts.
let dummyHash: Promise<string> | undefined
export const dummyPasswordHash = () => (dummyHash ??= hashPassword(randomBytes(32).toString('base64')))

/** Length counts characters (code points), so an emoji password is not penalised for UTF-16. */
export function checkPasswordPolicy(password: string, email: string): void {
	const length = [...password].length
	if (length < PASSWORD_MIN_LENGTH)
		throw new InvalidInputError('WEAK_PASSWORD', `Password must be at least ${PASSWORD_MIN_LENGTH} characters long`, { field: 'password' })
	if (password.trim().toLowerCase() === email.trim().toLowerCase())
		throw new InvalidInputError('WEAK_PASSWORD', 'Password must not be the same as the email address', { field: 'password' })
}

/**
 * One-time and refresh tokens: 32 random bytes (256 bits), base64url. Only their SHA-256 is
 * stored: the tokens are already high-entropy, so a fast hash suffices, and a leaked table
 * yields nothing usable.
 */
export const newOpaqueToken = () => randomBytes(32).toString('base64url')

export const hashToken = (token: string) => createHash('sha256').update(token).digest('hex')
