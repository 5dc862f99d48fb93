import { and, eq, gt, isNull, sql } from 'drizzle-orm'
import type { Config } from '../../config'
import type { Database } from '../../db/client'
import { schema, type Db, type Tx } from '../../db/client'
import type { BackgroundTasks } from '../../lib/background'
import type { Clock } from '../../lib/clock'
import { ForbiddenError, UnauthenticatedError } from '../../core/errors'
import type { Logger } from '../../logger'
import type { AuthUser, Authenticator } from '../../plugins/auth'
import type { LoginThrottle } from '../../lib/rate-limits'
import type { Mailer } from '../../mail/mailer'
import { passwordResetMail } from '../../mail/templates'
import type { User } from '../users/model'
import { emailMatches, invalidToken } from '../users/service'
import type { AccessTokens } from './access-tokens'
import type { TokenRevocations, TokensRevokedListener } from './revocations'
import { checkPasswordPolicy, dummyPasswordHash, hashPassword, hashToken, needsRehash, newOpaqueToken, verifyPassword } from './secrets'
import { createTokenVersionCache, type TokenVersionCache } from './token-versions'
import { UserRemovals } from './user-removals'

const { users, refreshTokens, userTokens } = schema

/** A login or refresh: the access token for the body, the refresh token for the cookie. */
export interface IssuedSession {
	accessToken: string
	expiresIn: number
	refreshToken: string
	refreshExpiresAt: Date
	user: User
}

const invalidCredentials = () => new UnauthenticatedError('INVALID_CREDENTIALS', 'Email or password is incorrect')
// One message for unknown, expired, revoked and reused tokens: the caller learns nothing from it.
const invalidRefreshToken = () => new UnauthenticatedError('INVALID_REFRESH_TOKEN', 'Refresh token is invalid or expired')
const invalidAccessToken = () => new UnauthenticatedError('UNAUTHORIZED', 'Access token is missing, invalid or expired')

export interface AuthServiceDeps {
	db: Db
	config: Pick<Config, 'publicUrl' | 'auth'>
	clock: Clock
	mailer: Mailer
	background: BackgroundTasks
	revocations: TokenRevocations
	accessTokens: AccessTokens
	logger: Logger
	/** Slows password guessing per account. */
	throttle: LoginThrottle
}

export class AuthService implements Authenticator {
	private readonly versions: TokenVersionCache
	private readonly removals: UserRemovals

	constructor(private readonly deps: AuthServiceDeps) {
		// Computed now so the first login with an unknown email is not the one slow request.
		void dummyPasswordHash()
		this.versions = createTokenVersionCache({
			revocations: deps.revocations,
			load: async (userId) => {
				const [row] = await deps.db.select({ version: users.tokenVersion, tenantId: users.tenantId }).from(users).where(eq(users.id, userId))
				return row ?? null
			},
			followsNotices: () => this.removals.following,
		})
		this.removals = new UserRemovals(this.versions)
	}

	/** Makes a user removed from the database lose access at once (see UserRemovals). */
	followUserRemovals(listen: Database['listen'], logger: Logger): { stop(): Promise<void> } {
		return this.removals.follow(listen, logger)
	}

	/**
	 * Listeners hear every token-version bump (logout-all, password reset) of any user, on every
	 * API instance; the WebSocket hub closes that user's sockets with it.
	 */
	onTokensRevoked(listener: TokensRevokedListener): () => void {
		return this.deps.revocations.onTokensRevoked(listener)
	}

	/** Listeners hear of every user removed from the database, as followUserRemovals does; the hub closes their sockets. */
	onUserRemoved(listener: (userId: string) => void): () => void {
		return this.removals.onRemoved(listener)
	}

	/**
	 * Checks the password, throttled per account (see LoginThrottle). `refreshToken` is the refresh
	 * cookie the client holds, if any: one of this account's marks a device its owner used.
	 */
	async login(credentials: { email: string; password: string }, client: { address: string; refreshToken?: string }): Promise<IssuedSession> {
		const { throttle } = this.deps
		const { email, password } = credentials
		const attempt = { email, address: client.address, knownDevice: await this.isKnownDevice(email, client.refreshToken) }
		await throttle.before(attempt)
		const user = await this.withPassword(email, password)
		if (!user) {
			await throttle.failed(attempt)
			throw invalidCredentials()
		}
		await throttle.succeeded(attempt)
		// Only a caller who knows the password learns that the address is unverified.
		if (!user.verifiedAt) throw new ForbiddenError('EMAIL_NOT_VERIFIED', 'Confirm your email address first: follow the link in the mail we sent')
		if (needsRehash(user.passwordHash)) await this.rehash(user.id, password)
		return this.issue(user, user.tokenVersion, Bun.randomUUIDv7())
	}

	/** Whether `refreshToken` (valid or not any more) was issued to the account with this email. */
	private async isKnownDevice(email: string, refreshToken: string | undefined): Promise<boolean> {
		if (!refreshToken) return false
		const [row] = await this.deps.db
			.select({ id: refreshTokens.id })
			.from(refreshTokens)
			.innerJoin(users, eq(users.id, refreshTokens.userId))
			.where(and(eq(refreshTokens.tokenHash, hashToken(refreshToken)), emailMatches(email)))
			.limit(1)
		return !!row
	}

	/** The user with this email and password, or null; an unknown email costs a password check too. */
	private async withPassword(email: string, password: string) {
		const [user] = await this.deps.db
			.select({
				id: users.id,
				email: users.email,
				name: users.name,
				tenantId: users.tenantId,
				verifiedAt: users.verifiedAt,
				passwordHash: users.passwordHash,
				tokenVersion: users.tokenVersion,
			})
			.from(users)
			.where(emailMatches(email))
			.limit(1)
		if (!user) {
			await verifyPassword(password, await dummyPasswordHash())
			return null
		}
		return (await verifyPassword(password, user.passwordHash)) ? user : null
	}

	/**
	 * Rotates a refresh token. A token that was already rotated means two parties hold the family
	 * (a copy was stolen, or replayed): the whole family is revoked and both have to log in again.
	 */
	async refresh(refreshToken: string | undefined): Promise<IssuedSession> {
		if (!refreshToken) throw invalidRefreshToken()
		const { db, clock } = this.deps
		const now = clock.now()
		const [token] = await db
			.select({
				id: refreshTokens.id,
				familyId: refreshTokens.familyId,
				expiresAt: refreshTokens.expiresAt,
				rotatedAt: refreshTokens.rotatedAt,
				revokedAt: refreshTokens.revokedAt,
			})
			.from(refreshTokens)
			.where(eq(refreshTokens.tokenHash, hashToken(refreshToken)))
		// Past its lifetime a token is refused like an unknown one, rotated or not: expired rows are
		// deleted (token-retention.ts), and the answer must not depend on whether that has happened yet.
		if (!token || token.expiresAt <= now) throw invalidRefreshToken()
		if (token.rotatedAt) {
			await this.revokeFamily(token.familyId, now)
			this.deps.logger.warn({ familyId: token.familyId }, 'refresh token reused: family revoked')
			throw invalidRefreshToken()
		}
		if (token.revokedAt) throw invalidRefreshToken()
		// The conditional update is the rotation's lock: of two concurrent refreshes with one token
		// only one wins; the other is treated as reuse. It rotates only a token of the user's current
		// token version: logout-all and a password reset bump it, so a family that rotates while
		// they revoke (its new token inserted after their revocation) still ends with them.
		const [user] = await db
			.update(refreshTokens)
			.set({ rotatedAt: now })
			.from(users)
			.where(
				and(
					eq(refreshTokens.id, token.id),
					isNull(refreshTokens.rotatedAt),
					isNull(refreshTokens.revokedAt),
					eq(users.id, refreshTokens.userId),
					eq(users.tokenVersion, refreshTokens.tokenVersion),
				),
			)
			.returning({
				id: users.id,
				email: users.email,
				name: users.name,
				tenantId: users.tenantId,
				verifiedAt: users.verifiedAt,
				tokenVersion: users.tokenVersion,
			})
		if (!user) {
			await this.revokeFamily(token.familyId, now)
			throw invalidRefreshToken()
		}
		return this.issue(user, user.tokenVersion, token.familyId)
	}

	/** Revokes the family of the presented refresh token; unknown tokens are ignored (idempotent). */
	async logout(refreshToken: string | undefined): Promise<void> {
		if (!refreshToken) return
		const [token] = await this.deps.db
			.select({ familyId: refreshTokens.familyId })
			.from(refreshTokens)
			.where(eq(refreshTokens.tokenHash, hashToken(refreshToken)))
		if (token) await this.revokeFamily(token.familyId, this.deps.clock.now())
	}

	/** Revokes every refresh token of the user and kills outstanding access tokens and WebSockets. */
	async logoutAll(userId: string): Promise<void> {
		const now = this.deps.clock.now()
		const bumped = await this.deps.db.transaction(async (tx) => {
			await tx
				.update(refreshTokens)
				.set({ revokedAt: now })
				.where(and(eq(refreshTokens.userId, userId), isNull(refreshTokens.revokedAt)))
			return this.bumpTokenVersion(tx, userId, now)
		})
		if (bumped) await this.deps.revocations.publish({ ...bumped, reason: 'logout-all' })
	}

	/**
	 * Mails a reset link if the address has an account. Returns at once and does the work in the
	 * background, so the answer (202) and its timing never tell whether the account exists.
	 */
	requestPasswordReset(email: string): void {
		const { db, clock, config, mailer } = this.deps
		this.deps.background.run('password-reset', async () => {
			const [user] = await db.select({ id: users.id, email: users.email, name: users.name }).from(users).where(emailMatches(email)).limit(1)
			if (!user) return
			const token = newOpaqueToken()
			const ttlSeconds = config.auth.passwordResetTokenTtlSeconds
			const expiresAt = new Date(clock.now().getTime() + ttlSeconds * 1000)
			await db.insert(userTokens).values({ userId: user.id, purpose: 'password_reset', tokenHash: hashToken(token), expiresAt })
			await mailer.send(passwordResetMail({ publicUrl: config.publicUrl, to: user, token, ttlSeconds }))
		})
	}

	/**
	 * Sets a new password with a reset token and ends every session of the user: refresh tokens
	 * revoked, token version bumped. Following the mailed link also proves the address, so an
	 * unverified account becomes verified.
	 */
	async confirmPasswordReset(token: string, password: string): Promise<void> {
		const { db, clock } = this.deps
		const tokenHash = hashToken(token)
		const [found] = await db
			.select({ userId: userTokens.userId, email: users.email, name: users.name })
			.from(userTokens)
			.innerJoin(users, eq(users.id, userTokens.userId))
			.where(
				and(
					eq(userTokens.tokenHash, tokenHash),
					eq(userTokens.purpose, 'password_reset'),
					isNull(userTokens.usedAt),
					gt(userTokens.expiresAt, clock.now()),
				),
			)
		if (!found) throw invalidToken()
		// A rejected password leaves the token usable for a second try.
		checkPasswordPolicy(password, found.email, found.name)
		const passwordHash = await hashPassword(password)
		const now = clock.now()
		const bumped = await db.transaction(async (tx) => {
			const [used] = await tx
				.update(userTokens)
				.set({ usedAt: now })
				.where(and(eq(userTokens.tokenHash, tokenHash), isNull(userTokens.usedAt), gt(userTokens.expiresAt, now)))
				.returning({ id: userTokens.id })
			if (!used) throw invalidToken()
			await tx
				.update(userTokens)
				.set({ usedAt: now })
				.where(and(eq(userTokens.userId, found.userId), eq(userTokens.purpose, 'password_reset'), isNull(userTokens.usedAt)))
			await tx
				.update(users)
				.set({ passwordHash, verifiedAt: sql`coalesce(${users.verifiedAt}, ${now.toISOString()}::timestamptz)` })
				.where(eq(users.id, found.userId))
			await tx
				.update(refreshTokens)
				.set({ revokedAt: now })
				.where(and(eq(refreshTokens.userId, found.userId), isNull(refreshTokens.revokedAt)))
			return this.bumpTokenVersion(tx, found.userId, now)
		})
		if (bumped) await this.deps.revocations.publish({ ...bumped, reason: 'password-reset' })
	}

	/**
	 * The user behind an access token, or a 401. Besides the signature and expiry, the token's
	 * version must still be the user's current one: that is what makes logout-all and password
	 * reset take effect at once. The version comes from a cache kept exact by revocation notices.
	 * The tenant is the user's own, from the same cache: a token that names another was not ours.
	 */
	async authenticate(accessToken: string | undefined): Promise<AuthUser> {
		if (!accessToken) throw invalidAccessToken()
		const claims = await this.deps.accessTokens.verify(accessToken)
		if (!claims) throw invalidAccessToken()
		const current = await this.versions.get(claims.sub)
		if (current === null || current.version !== claims.ver || current.tenantId !== claims.tid) throw invalidAccessToken()
		return { kind: 'user', id: claims.sub, tenantId: current.tenantId }
	}

	private async issue(
		user: { id: string; email: string; name: string | null; tenantId: string; verifiedAt: Date | null },
		tokenVersion: number,
		familyId: string,
	): Promise<IssuedSession> {
		const { db, clock, config, accessTokens } = this.deps
		const refreshToken = newOpaqueToken()
		const refreshExpiresAt = new Date(clock.now().getTime() + config.auth.refreshTokenTtlSeconds * 1000)
		await db
			.insert(refreshTokens)
			.values({ userId: user.id, familyId, tokenVersion, tokenHash: hashToken(refreshToken), expiresAt: refreshExpiresAt })
		const accessToken = await accessTokens.sign({ sub: user.id, tid: user.tenantId, ver: tokenVersion })
		return {
			accessToken,
			expiresIn: accessTokens.ttlSeconds,
			refreshToken,
			refreshExpiresAt,
			user: { id: user.id, email: user.email, name: user.name, tenantId: user.tenantId, emailVerified: user.verifiedAt !== null },
		}
	}

	private async revokeFamily(familyId: string, now: Date) {
		await this.deps.db
			.update(refreshTokens)
			.set({ revokedAt: now })
			.where(and(eq(refreshTokens.familyId, familyId), isNull(refreshTokens.revokedAt)))
	}

	private async bumpTokenVersion(tx: Tx, userId: string, now: Date) {
		const [row] = await tx
			.update(users)
			.set({ tokenVersion: sql`${users.tokenVersion} + 1`, updatedAt: now })
			.where(eq(users.id, userId))
			.returning({ userId: users.id, tenantId: users.tenantId, tokenVersion: users.tokenVersion })
		return row
	}

	private async rehash(userId: string, password: string) {
		const passwordHash = await hashPassword(password)
		await this.deps.db.update(users).set({ passwordHash }).where(eq(users.id, userId))
	}
}
