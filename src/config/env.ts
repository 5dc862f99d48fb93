import { Type as T, type Static } from '@sinclair/typebox'

/** A duration of the webhook retry schedule: `500ms`, `5s`, `5m`, `2h`. */
const DURATION = '\\d{1,9}(ms|s|m|h)'

/** An address in REDIS_CLUSTER_NAT_MAP: `host:port`. */
const HOST_PORT = '[^,=:\\s]+:\\d{1,5}'

/** A duration (`5s`, `2h`, `500ms`) in milliseconds. */
export function durationMs(text: string): number {
	const [, n = '0', unit = 'ms'] = /^(\d+)(ms|s|m|h)$/.exec(text) ?? []
	return Number(n) * { ms: 1, s: 1_000, m: 60_000, h: 3_600_000 }[unit as 'ms']
}

/**
 * The longest a timer runs: a longer setTimeout fires at once (Bun, like Node, takes 2³¹ − 1 ms
 * at most). Every setting that ends up in a timer stops there.
 */
const TIMER_MAX_MS = 2 ** 31 - 1
const TIMER_MAX_SECONDS = Math.floor(TIMER_MAX_MS / 1000)

/**
 * Every setting the process reads, parsed once at start. Names match the environment
 * variables; docs/configuration.md lists the same set.
 */
export const Env = T.Object({
	NODE_ENV: T.Union([T.Literal('development'), T.Literal('production'), T.Literal('test')], {
		default: 'development',
	}),
	PORT: T.Integer({ minimum: 0, maximum: 65535, default: 3000 }),
	HOST: T.String({ default: '0.0.0.0' }),
	DATABASE_URL: T.Optional(T.String({ pattern: '^postgres(ql)?://' })),
	DATA_DIR: T.String({ default: './data', minLength: 1 }),
	// redis+cluster://host:port,host:port (rediss+cluster:// for TLS) opens a Redis Cluster client.
	REDIS_URL: T.Optional(T.String({ pattern: '^rediss?(\\+cluster)?://' })),
	REDIS_CLUSTER_NAT_MAP: T.Optional(T.String({ pattern: `^${HOST_PORT}=${HOST_PORT}(,${HOST_PORT}=${HOST_PORT})*$` })),
	// No default: 1 on a cluster, 0 on a single Redis (loadConfig).
	REDIS_WAIT_REPLICAS: T.Optional(T.Integer({ minimum: 0, maximum: 16 })),
	REDIS_WAIT_TIMEOUT_MS: T.Integer({ minimum: 1, maximum: 60_000, default: 1_000 }),
	// A brace in the prefix would become the Redis Cluster hash tag of every key.
	REDIS_PREFIX: T.String({ default: '', pattern: '^[^{}]*$' }),
	JWT_SECRET: T.Optional(T.String({ minLength: 32 })),
	ENCRYPTION_KEY: T.Optional(T.String({ pattern: '^[A-Za-z0-9+/]{43}=$' })),
	SMTP_URL: T.Optional(T.String({ pattern: '^smtps?://' })),
	MAIL_FROM: T.String({ default: 'Switchboard <no-reply@localhost>' }),
	// Unset: http://localhost:<PORT>, so the links in mails reach a server started on another port.
	PUBLIC_URL: T.Optional(T.String({ pattern: '^https?://' })),
	METRICS_ENABLED: T.Boolean({ default: false }),
	METRICS_TOKEN: T.Optional(T.String({ minLength: 16 })),
	// No default: it depends on the mode (loadConfig).
	ROLES: T.Optional(T.String({ pattern: '^(api|runner|consumer|webhooks)(,(api|runner|consumer|webhooks))*$' })),
	LOG_LEVEL: T.Union(
		['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'].map((l) => T.Literal(l)),
		{ default: 'info' },
	),
	WA_WEBSOCKET_URL: T.Optional(T.String({ pattern: '^wss?://' })),
	WA_ROOT_PUBLIC_KEY: T.Optional(T.String({ pattern: '^[A-Za-z0-9+/]{43}=$' })),
	WA_MEDIA_CA_FILE: T.Optional(T.String({ minLength: 1 })),
	WA_MEDIA_HOSTS: T.Optional(T.String({ pattern: '^[A-Za-z0-9.-]+(,[A-Za-z0-9.-]+)*$' })),
	WA_RECONNECT_BASE_MS: T.Integer({ minimum: 1, maximum: TIMER_MAX_MS, default: 1_000 }),
	WA_RECONNECT_MAX_MS: T.Integer({ minimum: 1, maximum: TIMER_MAX_MS, default: 60_000 }),
	WA_RECONNECT_MAX_ATTEMPTS: T.Integer({ minimum: 1, default: 10 }),
	WA_STORE_TIMEOUT_MS: T.Integer({ minimum: 100, maximum: 120_000, default: 10_000 }),
	BODY_LIMIT_BYTES: T.Integer({ minimum: 1024, default: 1024 * 1024 }),
	SHUTDOWN_TIMEOUT_MS: T.Integer({ minimum: 0, maximum: TIMER_MAX_MS, default: 10_000 }),
	// Bun closes a connection idle this long and more (at most 255 s), answer or not: see answerWithin.
	REQUEST_TIMEOUT_MS: T.Integer({ minimum: 1_000, maximum: 240_000, default: 20_000 }),
	COOKIE_SECURE: T.Optional(T.Boolean()),
	MAX_SESSIONS_PER_TENANT: T.Integer({ minimum: 1, default: 10 }),
	MAX_WEBHOOKS_PER_TENANT: T.Integer({ minimum: 1, default: 20 }),
	TRUST_PROXY_HOPS: T.Integer({ minimum: 0, maximum: 10, default: 0 }),
	ACCESS_TOKEN_TTL_SECONDS: T.Integer({ minimum: 10, maximum: TIMER_MAX_SECONDS, default: 900 }),
	REFRESH_TOKEN_TTL_SECONDS: T.Integer({ minimum: 60, default: 30 * 24 * 3600 }),
	VERIFICATION_TOKEN_TTL_SECONDS: T.Integer({ minimum: 60, default: 24 * 3600 }),
	PASSWORD_RESET_TOKEN_TTL_SECONDS: T.Integer({ minimum: 60, default: 3600 }),
	RATE_LIMIT_WINDOW_SECONDS: T.Integer({ minimum: 1, maximum: TIMER_MAX_SECONDS, default: 900 }),
	RATE_LIMIT_LOGIN_PER_IP: T.Integer({ minimum: 1, default: 100 }),
	RATE_LIMIT_LOGIN_PER_ACCOUNT: T.Integer({ minimum: 1, default: 10 }),
	RATE_LIMIT_LOGIN_SLOWDOWN_AFTER: T.Integer({ minimum: 1, default: 50 }),
	RATE_LIMIT_SIGNUP_PER_IP: T.Integer({ minimum: 1, default: 20 }),
	RATE_LIMIT_MAIL_PER_IP: T.Integer({ minimum: 1, default: 20 }),
	RATE_LIMIT_MAIL_PER_ACCOUNT: T.Integer({ minimum: 1, default: 5 }),
	API_KEY_RATE_LIMIT: T.Integer({ minimum: 1, default: 600 }),
	API_KEY_RATE_LIMIT_WINDOW_SECONDS: T.Integer({ minimum: 1, maximum: TIMER_MAX_SECONDS, default: 60 }),
	API_KEY_LAST_USED_FLUSH_SECONDS: T.Integer({ minimum: 1, maximum: TIMER_MAX_SECONDS, default: 30 }),
	USER_RATE_LIMIT: T.Integer({ minimum: 1, default: 3000 }),
	USER_RATE_LIMIT_WINDOW_SECONDS: T.Integer({ minimum: 1, maximum: TIMER_MAX_SECONDS, default: 60 }),
	COMMAND_PARTITIONS: T.Integer({ minimum: 1, maximum: 1024, default: 32 }),
	STREAM_RETENTION_SECONDS: T.Integer({ minimum: 0, default: 24 * 3600 }),
	STREAM_MAX_LEN: T.Integer({ minimum: 0, default: 1_000_000 }),
	EVENT_CLAIM_IDLE_MS: T.Integer({ minimum: 10, maximum: TIMER_MAX_MS, default: 30_000 }),
	EVENT_MAX_DELIVERIES: T.Integer({ minimum: 1, default: 5 }),
	CONSUMER_CONCURRENCY: T.Integer({ minimum: 1, maximum: 32, default: 2 }),
	CONSUMER_BATCH_SIZE: T.Integer({ minimum: 1, maximum: 1000, default: 16 }),
	OUTBOX_RELAY_INTERVAL_MS: T.Integer({ minimum: 10, maximum: TIMER_MAX_MS, default: 250 }),
	OUTBOX_RETENTION_SECONDS: T.Integer({ minimum: 60, default: 24 * 3600 }),
	IDEMPOTENCY_KEY_RETENTION_SECONDS: T.Integer({ minimum: 60, default: 24 * 3600 }),
	SESSION_PURGE_BATCH_ROWS: T.Integer({ minimum: 1, maximum: 100_000, default: 2_000 }),
	SESSION_PURGE_PAUSE_MS: T.Integer({ minimum: 0, maximum: 60_000, default: 100 }),
	WS_SEND_BUFFER_BYTES: T.Integer({ minimum: 16 * 1024, default: 4 * 1024 * 1024 }),
	WS_IDLE_TIMEOUT_SECONDS: T.Integer({ minimum: 8, maximum: 960, default: 30 }),
	WS_MAX_SOCKETS_PER_TENANT: T.Integer({ minimum: 1, default: 200 }),
	RUNNER_LEASE_TTL_MS: T.Integer({ minimum: 1_000, maximum: TIMER_MAX_MS, default: 10_000 }),
	RUNNER_LEASE_SAFETY_MARGIN_MS: T.Optional(T.Integer({ minimum: 100 })),
	RUNNER_LOST_AFTER_MS: T.Optional(T.Integer({ minimum: 0, maximum: TIMER_MAX_MS })),
	RUNNER_CONNECT_RATE: T.Integer({ minimum: 1, maximum: 1000, default: 50 }),
	MEDIA_STORE: T.Union([T.Literal('fs'), T.Literal('s3')], { default: 'fs' }),
	MEDIA_DIR: T.Optional(T.String({ minLength: 1 })),
	MEDIA_S3_BUCKET: T.Optional(T.String({ minLength: 1 })),
	MEDIA_S3_ENDPOINT: T.Optional(T.String({ pattern: '^https?://' })),
	MEDIA_S3_REGION: T.Optional(T.String({ minLength: 1 })),
	MEDIA_S3_ACCESS_KEY_ID: T.Optional(T.String({ minLength: 1 })),
	MEDIA_S3_SECRET_ACCESS_KEY: T.Optional(T.String({ minLength: 1 })),
	MEDIA_MAX_BYTES: T.Integer({ minimum: 1024, default: 100 * 1024 * 1024 }),
	MEDIA_QUOTA_BYTES: T.Integer({ minimum: 0, default: 0 }),
	MEDIA_DOWNLOAD: T.Union([T.Literal('eager'), T.Literal('on_demand'), T.Literal('off')], { default: 'eager' }),
	MEDIA_COLLECT_INTERVAL_SECONDS: T.Integer({ minimum: 1, maximum: TIMER_MAX_SECONDS, default: 3600 }),
	MEDIA_COLLECT_GRACE_SECONDS: T.Integer({ minimum: 0, default: 3600 }),
	WEBHOOK_RETRY_SCHEDULE: T.String({ pattern: `^${DURATION}(,${DURATION})*$`, default: '5s,5m,30m,2h,5h,10h,10h' }),
	WEBHOOK_TIMEOUT_MS: T.Integer({ minimum: 100, maximum: 120_000, default: 15_000 }),
	WEBHOOK_ALLOW_PRIVATE_TARGETS: T.Boolean({ default: false }),
	WEBHOOK_DISABLE_AFTER_SECONDS: T.Integer({ minimum: 60, default: 5 * 24 * 3600 }),
	WEBHOOK_CONCURRENCY: T.Integer({ minimum: 1, maximum: 1000, default: 64 }),
	WEBHOOK_POLL_MS: T.Integer({ minimum: 10, maximum: TIMER_MAX_MS, default: 500 }),
	// An hour at least: a stream entry read again after a crash must still find its delivery recorded, not record it anew.
	WEBHOOK_DELIVERY_RETENTION_SECONDS: T.Integer({ minimum: 3600, maximum: 100 * 365 * 24 * 3600, default: 7 * 24 * 3600 }),
	QUERY_TIMEOUT_MS: T.Integer({ minimum: 100, maximum: 120_000, default: 10_000 }),
	NUMBER_CHECK_MAX_NUMBERS: T.Integer({ minimum: 1, maximum: 500, default: 50 }),
	NUMBER_CHECK_LIMIT: T.Integer({ minimum: 1, default: 200 }),
	NUMBER_CHECK_WINDOW_SECONDS: T.Integer({ minimum: 1, maximum: TIMER_MAX_SECONDS, default: 3600 }),
	PROFILE_PICTURE_TTL_SECONDS: T.Integer({ minimum: 0, maximum: TIMER_MAX_SECONDS, default: 24 * 3600 }),
})
export type Env = Static<typeof Env>

export const DEV_SECRETS = {
	JWT_SECRET: 'development-only-jwt-secret-change-me-0123456789',
	ENCRYPTION_KEY: Buffer.alloc(32, 7).toString('base64'),
} as const

export const HINTS: Record<string, string> = {
	DATABASE_URL: 'must be a postgres:// URL',
	REDIS_URL: 'must be a redis://, rediss://, redis+cluster:// or rediss+cluster:// URL',
	REDIS_CLUSTER_NAT_MAP: 'must be announced-host:port=reachable-host:port pairs, comma-separated',
	REDIS_PREFIX: 'must not contain { or } (they would become the Redis Cluster hash tag)',
	JWT_SECRET: 'must be at least 32 characters',
	ENCRYPTION_KEY: 'must be 32 bytes in base64 (openssl rand -base64 32)',
	WA_ROOT_PUBLIC_KEY: 'must be a 32-byte Curve25519 public key in base64',
	SMTP_URL: 'must be an smtp:// or smtps:// URL',
	PUBLIC_URL: 'must be an http(s):// URL',
	WA_WEBSOCKET_URL: 'must be a ws:// or wss:// URL',
	WA_MEDIA_HOSTS: 'must be host names, comma-separated (whatsapp.net,cdn.example.com)',
	MEDIA_STORE: 'must be fs or s3',
	MEDIA_DOWNLOAD: 'must be eager, on_demand or off',
	MEDIA_S3_ENDPOINT: 'must be an http(s):// URL',
	ROLES: 'must be a comma-separated list of api, runner, consumer, webhooks',
	WEBHOOK_RETRY_SCHEDULE: 'must be comma-separated durations such as 5s,5m,30m,2h',
	WEBHOOK_ALLOW_PRIVATE_TARGETS: 'must be true or false',
	METRICS_ENABLED: 'must be true or false',
	COOKIE_SECURE: 'must be true or false',
	PORT: 'must be an integer between 0 and 65535',
}

const BOOLEAN_KEYS = new Set(['METRICS_ENABLED', 'COOKIE_SECURE', 'WEBHOOK_ALLOW_PRIVATE_TARGETS'])
const INTEGER_KEYS = new Set(
	Object.entries(Env.properties).flatMap(([key, schema]) => ((schema as { type?: string }).type === 'integer' ? [key] : [])),
)

/** Environment strings → typed values; empty strings count as unset. */
export function coerce(source: Record<string, string | undefined>): Record<string, unknown> {
	const out: Record<string, unknown> = {}
	for (const key of Object.keys(Env.properties)) {
		const raw = source[key]
		if (raw === undefined || raw.trim() === '') continue
		const value = raw.trim()
		if (BOOLEAN_KEYS.has(key)) out[key] = value === 'true' || value === '1' ? true : value === 'false' || value === '0' ? false : value
		else if (INTEGER_KEYS.has(key)) out[key] = /^-?\d+$/.test(value) ? Number(value) : value
		else out[key] = value
	}
	return out
}

const SECRET_KEYS = /SECRET|KEY|TOKEN|PASSWORD|URL/
export function redactIfSecret(key: string, value: unknown): unknown {
	return SECRET_KEYS.test(key) && typeof value === 'string' ? '[redacted]' : value
}
