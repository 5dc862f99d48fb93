import { createHash, randomBytes } from 'node:crypto'
import { ZxcvbnFactory } from '@zxcvbn-ts/core'
import * as common from '@zxcvbn-ts/language-common'
import * as english from '@zxcvbn-ts/language-en'
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

/**
 * zxcvbn's score (0–4) a password needs: 3 is "safely unguessable" against an offline attack on a
 * slow hash, which is what a stolen argon2id table would face.
 */
const MIN_STRENGTH = 3

// The estimator loads its dictionaries (common passwords, names, English words) on first use,
// about 0.2 s, so processes that never check a password never pay for them.
let estimator: ZxcvbnFactory | undefined
const strengthOf = (password: string, userInputs: string[]) =>
	(estimator ??= new ZxcvbnFactory({
		dictionary: { ...common.dictionary, ...english.dictionary },
		graphs: common.adjacencyGraphs,
		translations: english.translations,
	})).check(password, userInputs)

const weak = (message: string, details: Record<string, unknown> = {}) =>
	new InvalidInputError('WEAK_PASSWORD', message, { field: 'password', ...details })

/**
 * At least PASSWORD_MIN_LENGTH characters (code points, so an emoji password is not penalised for
 * UTF-16), not the email, and not easy to guess: zxcvbn, offline, weighs common passwords,
 * keyboard walks, repeats and the account's own email and name. The message says what to change.
 */
export function checkPasswordPolicy(password: string, email: string, name?: string | null): void {
	if ([...password].length < PASSWORD_MIN_LENGTH) throw weak(`Password must be at least ${PASSWORD_MIN_LENGTH} characters long`)
	if (password.trim().toLowerCase() === email.trim().toLowerCase()) throw weak('Password must not be the same as the email address')
	const result = strengthOf(password, [email, email.split('@')[0] ?? '', ...(name ? [name] : []), 'switchboard', 'whatsapp'])
	if (result.score >= MIN_STRENGTH) return
	const hints = [result.feedback.warning, ...result.feedback.suggestions].filter(Boolean).join(' ')
	throw weak(`Password is too easy to guess.${hints ? ` ${hints}` : ''} A few uncommon words in a row make a strong one.`, {
		score: result.score,
	})
}

/**
 * One-time and refresh tokens: 32 random bytes (256 bits), base64url. Only their SHA-256 is
 * stored: the tokens are already high-entropy, so a fast hash suffices, and a leaked table
 * yields nothing usable.
 */
export const newOpaqueToken = () => randomBytes(32).toString('base64url')

export const hashToken = (token: string) => createHash('sha256').update(token).digest('hex')
