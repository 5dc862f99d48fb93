import { and, eq, gt, isNotNull, isNull, sql } from 'drizzle-orm'
import type { Config } from '../../config'
import { schema, type Db, type Tx } from '../../db/client'
import type { BackgroundTasks } from '../../lib/background'
import type { Clock } from '../../lib/clock'
import { ConflictError, InvalidInputError, NotFoundError } from '../../core/errors'
import type { Mailer } from '../../mail/mailer'
import { verificationMail } from '../../mail/templates'
import type { User } from './model'
import { checkPasswordPolicy, hashPassword, hashToken, newOpaqueToken } from '../auth/secrets'

const { tenants, users, userTokens } = schema

export const invalidToken = () => new InvalidInputError('INVALID_TOKEN', 'The link is invalid, expired or already used')

const publicColumns = {
	id: users.id,
	email: users.email,
	name: users.name,
	tenantId: users.tenantId,
	verifiedAt: users.verifiedAt,
}
const toPublic = (u: { id: string; email: string; name: string | null; tenantId: string; verifiedAt: Date | null }): User => ({
	id: u.id,
	email: u.email,
	name: u.name,
	tenantId: u.tenantId,
	emailVerified: u.verifiedAt !== null,
})

/** The unique index is on lower(email); comparing the same expression lets Postgres use it. */
export const emailMatches = (email: string) => sql`lower(${users.email}) = lower(${email.trim()})`

function isUniqueViolation(err: unknown): boolean {
	for (let e = err; e && typeof e === 'object'; e = (e as { cause?: unknown }).cause) if ((e as { code?: unknown }).code === '23505') return true
	return false
}

export interface UsersServiceDeps {
	db: Db
	config: Pick<Config, 'publicUrl' | 'auth'>
	clock: Clock
	mailer: Mailer
	background: BackgroundTasks
}

export class UsersService {
	constructor(private readonly deps: UsersServiceDeps) {}

	/** Creates a tenant and its owner in one transaction and mails a verification link. */
	async signUp(input: { email: string; password: string; name?: string }): Promise<User> {
		const { db } = this.deps
		const email = input.email.trim()
		const name = input.name?.trim() || null
		checkPasswordPolicy(input.password, email, name)
		// Checked before hashing only to spare the argon2 work; the unique index is what decides.
		const [taken] = await db.select({ id: users.id }).from(users).where(emailMatches(email)).limit(1)
		if (taken) throw emailTaken()
		const passwordHash = await hashPassword(input.password)
		const { user, token } = await db
			.transaction(async (tx) => {
				const [tenant] = await tx
					.insert(tenants)
					.values({ name: name ?? email })
					.returning({ id: tenants.id })
				const [user] = await tx.insert(users).values({ tenantId: tenant!.id, email, name, role: 'owner', passwordHash }).returning(publicColumns)
				const token = await this.issueVerificationToken(tx, user!.id)
				return { user: user!, token }
			})
			.catch((err) => {
				throw isUniqueViolation(err) ? emailTaken() : err
			})
		this.mailVerification(user, token)
		return toPublic(user)
	}

	/**
	 * Consumes a verification token of this user; tokens are single-use, but the link of a token that
	 * confirmed the address answers so again.
	 */
	async verifyEmail(userId: string, token: string): Promise<User> {
		const now = this.deps.clock.now()
		const thisLink = and(eq(userTokens.tokenHash, hashToken(token)), eq(userTokens.userId, userId), eq(userTokens.purpose, 'verify_email'))
		return this.deps.db.transaction(async (tx) => {
			const [used] = await tx
				.update(userTokens)
				.set({ usedAt: now })
				.where(and(thisLink, isNull(userTokens.usedAt), gt(userTokens.expiresAt, now)))
				.returning({ id: userTokens.id })
			if (!used) {
				// This link opened again (a second click, or a mail scanner that opened it first): the address
				// it confirmed stays confirmed, and its holder is told so rather than that it failed.
				const [again] = await tx
					.select(publicColumns)
					.from(userTokens)
					.innerJoin(users, eq(users.id, userTokens.userId))
					.where(and(thisLink, isNotNull(users.verifiedAt)))
				if (again) return toPublic(again)
				throw invalidToken()
			}
			const [user] = await tx
				.update(users)
				.set({ verifiedAt: sql`coalesce(${users.verifiedAt}, ${now.toISOString()}::timestamptz)`, updatedAt: now })
				.where(eq(users.id, userId))
				.returning(publicColumns)
			// Older links of the same purpose die with the first one used.
			await tx
				.update(userTokens)
				.set({ usedAt: now })
				.where(and(eq(userTokens.userId, userId), eq(userTokens.purpose, 'verify_email'), isNull(userTokens.usedAt)))
			return toPublic(user!)
		})
	}

	async getProfile(userId: string, tenantId: string): Promise<User> {
		const [user] = await this.deps.db
			.select(publicColumns)
			.from(users)
			.where(and(eq(users.id, userId), eq(users.tenantId, tenantId)))
		if (!user) throw NotFoundError.of('User')
		return toPublic(user)
	}

	/**
	 * Mails a new verification link if the address belongs to an unverified account. Returns at
	 * once and does the lookup in the background, so the answer (202) and its timing are the same
	 * whether or not the account exists.
	 */
	resendVerification(email: string): void {
		this.deps.background.run('resend-verification', async () => {
			const [user] = await this.deps.db.select(publicColumns).from(users).where(emailMatches(email)).limit(1)
			if (!user || user.verifiedAt) return
			const token = await this.issueVerificationToken(this.deps.db, user.id)
			await this.deps.mailer.send(this.verificationMailFor(user, token))
		})
	}

	private async issueVerificationToken(tx: Db | Tx, userId: string): Promise<string> {
		const token = newOpaqueToken()
		const expiresAt = new Date(this.deps.clock.now().getTime() + this.deps.config.auth.verificationTokenTtlSeconds * 1000)
		await tx.insert(userTokens).values({ userId, purpose: 'verify_email', tokenHash: hashToken(token), expiresAt })
		return token
	}

	private verificationMailFor(user: { id: string; email: string; name: string | null }, token: string) {
		return verificationMail({
			publicUrl: this.deps.config.publicUrl,
			to: user,
			userId: user.id,
			token,
			ttlSeconds: this.deps.config.auth.verificationTokenTtlSeconds,
		})
	}

	private mailVerification(user: { id: string; email: string; name: string | null }, token: string) {
		this.deps.background.run('verification-mail', () => this.deps.mailer.send(this.verificationMailFor(user, token)))
	}
}

const emailTaken = () => new ConflictError('EMAIL_TAKEN', 'An account with this email address already exists')
