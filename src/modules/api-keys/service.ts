import { and, count, desc, eq, isNull } from 'drizzle-orm'
import { ConflictError, InvalidInputError, NotFoundError } from '../../core/errors'
import { isScope, SCOPE_NAMES, type Scope } from '../../core/scopes'
import { schema, type Db } from '../../db/client'
import { lockTenant } from '../../db/tenant-lock'
import type { Broadcast } from '../../lib/broadcast'
import type { Clock } from '../../lib/clock'
import type { ApiKeyRevoked } from './authenticator'
import type { ApiKey, CreateApiKey, CreatedApiKey } from './model'
import { apiKeyPrefix, hashApiKey, newApiKey } from './secrets'

const { apiKeys, users } = schema

/** Active keys a tenant may hold: enough for every integration, few enough to list on one page. */
export const MAX_API_KEYS_PER_TENANT = 100

/** The scopes as given, known ones only (400 naming the first unknown), each once, in catalogue order. */
function checkedScopes(requested: readonly string[]): Scope[] {
	const unknown = requested.find((scope) => !isScope(scope))
	if (unknown !== undefined)
		throw new InvalidInputError('UNKNOWN_SCOPE', `Unknown scope "${unknown}"; known scopes: ${SCOPE_NAMES.join(', ')}`, {
			field: 'scopes',
			scope: unknown,
			known: SCOPE_NAMES,
		})
	return SCOPE_NAMES.filter((scope) => requested.includes(scope))
}

/** A tenant's API keys: minted by a signed-in user, listed without their secrets, revoked on every instance at once. */
export class ApiKeysService {
	constructor(private readonly deps: { db: Db; clock: Clock; revocations: Broadcast<ApiKeyRevoked> }) {}

	async create(tenantId: string, userId: string, input: CreateApiKey): Promise<CreatedApiKey> {
		const name = input.name.trim()
		if (!name) throw new InvalidInputError('INVALID_NAME', 'Name must not be blank', { field: 'name' })
		const scopes = checkedScopes(input.scopes)
		const { db, clock } = this.deps
		const key = newApiKey()
		const row = await db.transaction(async (tx) => {
			await lockTenant(tx, tenantId)
			const [active] = await tx
				.select({ n: count() })
				.from(apiKeys)
				.where(and(eq(apiKeys.tenantId, tenantId), isNull(apiKeys.revokedAt)))
			if ((active?.n ?? 0) >= MAX_API_KEYS_PER_TENANT)
				throw new ConflictError('API_KEY_LIMIT_REACHED', `An account may hold ${MAX_API_KEYS_PER_TENANT} API keys; revoke one first`, {
					limit: MAX_API_KEYS_PER_TENANT,
				})
			const [created] = await tx
				.insert(apiKeys)
				.values({ tenantId, name, scopes, prefix: apiKeyPrefix(key), keyHash: hashApiKey(key), createdBy: userId, createdAt: clock.now() })
				.returning({ id: apiKeys.id, createdAt: apiKeys.createdAt })
			return created!
		})
		return { id: row.id, name, scopes, prefix: apiKeyPrefix(key), key, createdAt: row.createdAt.toISOString() }
	}

	/** The tenant's active keys, newest first. */
	async list(tenantId: string): Promise<ApiKey[]> {
		const rows = await this.deps.db
			.select({
				id: apiKeys.id,
				name: apiKeys.name,
				scopes: apiKeys.scopes,
				prefix: apiKeys.prefix,
				creatorId: users.id,
				creatorEmail: users.email,
				createdAt: apiKeys.createdAt,
				lastUsedAt: apiKeys.lastUsedAt,
			})
			.from(apiKeys)
			.leftJoin(users, eq(users.id, apiKeys.createdBy))
			.where(and(eq(apiKeys.tenantId, tenantId), isNull(apiKeys.revokedAt)))
			.orderBy(desc(apiKeys.createdAt), desc(apiKeys.id))
		return rows.map((r) => ({
			id: r.id,
			name: r.name,
			scopes: r.scopes,
			prefix: r.prefix,
			createdBy: r.creatorId && r.creatorEmail ? { id: r.creatorId, email: r.creatorEmail } : null,
			createdAt: r.createdAt.toISOString(),
			lastUsedAt: r.lastUsedAt?.toISOString() ?? null,
		}))
	}

	/**
	 * Revokes the key (the row stays, marked, for the record) and tells every instance, which stop
	 * accepting it and close its WebSockets. 404 for an unknown, revoked or foreign id alike.
	 */
	async revoke(tenantId: string, id: string): Promise<void> {
		const [row] = await this.deps.db
			.update(apiKeys)
			.set({ revokedAt: this.deps.clock.now() })
			.where(and(eq(apiKeys.tenantId, tenantId), eq(apiKeys.id, id), isNull(apiKeys.revokedAt)))
			.returning({ id: apiKeys.id })
		if (!row) throw NotFoundError.of('API key')
		await this.deps.revocations.publish({ keyId: id, tenantId })
	}
}
