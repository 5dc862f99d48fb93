import { t } from 'elysia'
import { SCOPE_NAMES, SCOPES } from '../../core/scopes'
import { Nullable, UUID_PATTERN, UuidInput, SINGLE_LINE_PATTERN } from '../../lib/schema'

const Uuid = t.String({ pattern: UUID_PATTERN, description: 'uuid' })
const Time = t.String({ format: 'date-time' })

const SCOPE_HELP = SCOPE_NAMES.map((scope) => `\`${scope}\`: ${SCOPES[scope]}`).join('; ')

/**
 * A scope as a string rather than an enum: an unknown one then answers 400 `UNKNOWN_SCOPE` naming
 * it (the service checks), where an enum's validation error would only say "expected one of".
 */
const ScopeName = t.String({ minLength: 1, maxLength: 64, description: `One of: ${SCOPE_HELP}`, examples: ['messages:send'] })

// No control characters (NUL included): names show up in lists and logs.
const KeyName = t.String({ minLength: 1, maxLength: 100, pattern: SINGLE_LINE_PATTERN, examples: ['CRM sync'] })

export const ApiKeyIdParams = t.Object({ id: UuidInput() })

/** A key as lists show it: everything but the secret. */
const ApiKey = t.Object({
	id: Uuid,
	name: t.String(),
	scopes: t.Array(t.String()),
	prefix: t.String(),
	/** The user who created it; null once that account is gone. */
	createdBy: Nullable(t.Object({ id: Uuid, email: t.String() })),
	createdAt: Time,
	/** Written in batches, so it may trail the last request by up to API_KEY_LAST_USED_FLUSH_SECONDS. */
	lastUsedAt: Nullable(Time),
})

export const apiKeysModels = {
	CreateApiKey: t.Object({
		name: KeyName,
		scopes: t.Array(ScopeName, { minItems: 1, maxItems: SCOPE_NAMES.length, description: 'What the key may do; `*` is everything' }),
	}),
	CreatedApiKey: t.Object({
		id: Uuid,
		name: t.String(),
		scopes: t.Array(t.String()),
		prefix: t.String({ description: 'The first characters of the key, shown in lists to tell keys apart' }),
		key: t.String({ description: 'The key itself (`sbk_…`). Shown this once: only its hash is stored.' }),
		createdAt: Time,
	}),
	ApiKey,
	ApiKeyList: t.Object({
		items: t.Array(ApiKey),
		nextCursor: t.Null({ description: 'Always null: every active key is on the one page' }),
	}),
}

export type CreateApiKey = typeof apiKeysModels.CreateApiKey.static
export type CreatedApiKey = typeof apiKeysModels.CreatedApiKey.static
export type ApiKey = typeof ApiKey.static
