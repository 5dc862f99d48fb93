import { join } from 'node:path'
import { Type as T, type Static } from '@sinclair/typebox'
import { Value } from '@sinclair/typebox/value'

/**
 * Every setting the process reads, parsed once at start. Names match the environment
 * variables; docs/configuration.md lists the same set.
 */
const Env = T.Object({
	NODE_ENV: T.Union([T.Literal('development'), T.Literal('production'), T.Literal('test')], {
		default: 'development',
	}),
	PORT: T.Integer({ minimum: 0, maximum: 65535, default: 3000 }),
	HOST: T.String({ default: '0.0.0.0' }),
	DATABASE_URL: T.Optional(T.String({ pattern: '^postgres(ql)?://' })),
	DATA_DIR: T.String({ default: './data', minLength: 1 }),
	REDIS_URL: T.Optional(T.String({ pattern: '^rediss?://' })),
	// A brace in the prefix would become the Redis Cluster hash tag of every key.
	REDIS_PREFIX: T.String({ default: '', pattern: '^[^{}]*$' }),
	JWT_SECRET: T.Optional(T.String({ minLength: 32 })),
	ENCRYPTION_KEY: T.Optional(T.String({ pattern: '^[A-Za-z0-9+/]{43}=$' })),
	SMTP_URL: T.Optional(T.String({ pattern: '^smtps?://' })),
	MAIL_FROM: T.String({ default: 'Switchboard <no-reply@localhost>' }),
	PUBLIC_URL: T.String({ pattern: '^https?://', default: 'http://localhost:3000' }),
	METRICS_ENABLED: T.Boolean({ default: false }),
	METRICS_TOKEN: T.Optional(T.String({ minLength: 16 })),
	ROLES: T.String({ pattern: '^(api|runner|consumer)(,(api|runner|consumer))*$', default: 'api,runner,consumer' }),
	LOG_LEVEL: T.Union(
		['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'].map((l) => T.Literal(l)),
		{ default: 'info' },
	),
	WA_WEBSOCKET_URL: T.Optional(T.String({ pattern: '^wss?://' })),
	WA_ROOT_PUBLIC_KEY: T.Optional(T.String({ pattern: '^[A-Za-z0-9+/]{43}=$' })),
	WA_RECONNECT_BASE_MS: T.Integer({ minimum: 1, default: 1_000 }),
	WA_RECONNECT_MAX_MS: T.Integer({ minimum: 1, default: 60_000 }),
	WA_RECONNECT_MAX_ATTEMPTS: T.Integer({ minimum: 1, default: 10 }),
	BODY_LIMIT_BYTES: T.Integer({ minimum: 1024, default: 1024 * 1024 }),
	SHUTDOWN_TIMEOUT_MS: T.Integer({ minimum: 0, default: 10_000 }),
	COOKIE_SECURE: T.Optional(T.Boolean()),
	MAX_SESSIONS_PER_TENANT: T.Integer({ minimum: 1, default: 10 }),
	TRUST_PROXY_HOPS: T.Integer({ minimum: 0, maximum: 10, default: 0 }),
	ACCESS_TOKEN_TTL_SECONDS: T.Integer({ minimum: 10, default: 900 }),
	REFRESH_TOKEN_TTL_SECONDS: T.Integer({ minimum: 60, default: 30 * 24 * 3600 }),
	VERIFICATION_TOKEN_TTL_SECONDS: T.Integer({ minimum: 60, default: 24 * 3600 }),
	PASSWORD_RESET_TOKEN_TTL_SECONDS: T.Integer({ minimum: 60, default: 3600 }),
	RATE_LIMIT_WINDOW_SECONDS: T.Integer({ minimum: 1, default: 900 }),
	RATE_LIMIT_LOGIN_PER_IP: T.Integer({ minimum: 1, default: 100 }),
	RATE_LIMIT_LOGIN_PER_ACCOUNT: T.Integer({ minimum: 1, default: 10 }),
	RATE_LIMIT_LOGIN_SLOWDOWN_AFTER: T.Integer({ minimum: 1, default: 50 }),
	RATE_LIMIT_SIGNUP_PER_IP: T.Integer({ minimum: 1, default: 20 }),
	RATE_LIMIT_MAIL_PER_IP: T.Integer({ minimum: 1, default: 20 }),
	RATE_LIMIT_MAIL_PER_ACCOUNT: T.Integer({ minimum: 1, default: 5 }),
	COMMAND_PARTITIONS: T.Integer({ minimum: 1, maximum: 1024, default: 32 }),
	STREAM_RETENTION_SECONDS: T.Integer({ minimum: 0, default: 24 * 3600 }),
	STREAM_MAX_LEN: T.Integer({ minimum: 0, default: 1_000_000 }),
	EVENT_CLAIM_IDLE_MS: T.Integer({ minimum: 10, default: 30_000 }),
	EVENT_MAX_DELIVERIES: T.Integer({ minimum: 1, default: 5 }),
	CONSUMER_CONCURRENCY: T.Integer({ minimum: 1, maximum: 32, default: 2 }),
	CONSUMER_BATCH_SIZE: T.Integer({ minimum: 1, maximum: 1000, default: 16 }),
	OUTBOX_RELAY_INTERVAL_MS: T.Integer({ minimum: 10, default: 250 }),
	OUTBOX_RETENTION_SECONDS: T.Integer({ minimum: 60, default: 24 * 3600 }),
	IDEMPOTENCY_KEY_RETENTION_SECONDS: T.Integer({ minimum: 60, default: 24 * 3600 }),
	WS_SEND_BUFFER_BYTES: T.Integer({ minimum: 16 * 1024, default: 4 * 1024 * 1024 }),
	WS_IDLE_TIMEOUT_SECONDS: T.Integer({ minimum: 8, maximum: 960, default: 30 }),
	RUNNER_LEASE_TTL_MS: T.Integer({ minimum: 1_000, default: 10_000 }),
	RUNNER_LEASE_SAFETY_MARGIN_MS: T.Optional(T.Integer({ minimum: 100 })),
	MEDIA_STORE: T.Union([T.Literal('fs'), T.Literal('s3')], { default: 'fs' }),
	MEDIA_DIR: T.Optional(T.String({ minLength: 1 })),
	MEDIA_S3_BUCKET: T.Optional(T.String({ minLength: 1 })),
	MEDIA_S3_ENDPOINT: T.Optional(T.String({ pattern: '^https?://' })),
	MEDIA_S3_REGION: T.Optional(T.String({ minLength: 1 })),
	MEDIA_S3_ACCESS_KEY_ID: T.Optional(T.String({ minLength: 1 })),
	MEDIA_S3_SECRET_ACCESS_KEY: T.Optional(T.String({ minLength: 1 })),
	MEDIA_MAX_BYTES: T.Integer({ minimum: 1024, default: 100 * 1024 * 1024 }),
	MEDIA_DOWNLOAD: T.Union([T.Literal('eager'), T.Literal('on_demand'), T.Literal('off')], { default: 'eager' }),
})
type Env = Static<typeof Env>

export type Role = 'api' | 'runner' | 'consumer'

export interface Config {
	env: Env['NODE_ENV']
	port: number
	host: string
	databaseUrl: string | undefined
	dataDir: string
	redisUrl: string | undefined
	redisPrefix: string
	jwtSecret: string
	encryptionKey: Buffer
	smtpUrl: string | undefined
	mailFrom: string
	publicUrl: string
	metricsEnabled: boolean
	metricsToken: string | undefined
	roles: ReadonlySet<Role>
	logLevel: Env['LOG_LEVEL']
	waWebSocketUrl: string | undefined
	waRootPublicKey: string | undefined
	/** Reconnect policy of WhatsApp sessions after a transient disconnect (README, Sessions). */
	waReconnect: { baseMs: number; maxMs: number; maxAttempts: number }
	bodyLimitBytes: number
	shutdownTimeoutMs: number
	cookieSecure: boolean
	maxSessionsPerTenant: number
	/** Reverse proxies in front of the API whose X-Forwarded-For entries are trusted (0 = none). */
	trustProxyHops: number
	auth: AuthConfig
	events: EventsConfig
	/** An Idempotency-Key of a send is remembered this long. */
	idempotencyKeyRetentionMs: number
	realtime: RealtimeConfig
	ownership: OwnershipConfig
	media: MediaConfig
	/** Settings that fell back to a development default; logged at start. */
	defaultsUsed: string[]
	/** Settings that contradict each other without being invalid; the server logs each at start. */
	warnings: string[]
}

/** Where media bytes live, how large a file may be, and when incoming media are downloaded (docs/configuration.md). */
export interface MediaConfig {
	store:
		| { kind: 'fs'; dir: string }
		| { kind: 's3'; bucket: string; endpoint?: string; region?: string; accessKeyId?: string; secretAccessKey?: string }
	maxBytes: number
	/** `eager`: as a message arrives; `on_demand`: when first asked for; `off`: never. */
	download: 'eager' | 'on_demand' | 'off'
}

/** Token lifetimes and rate limits of accounts and authentication (README, Auth). */
export interface AuthConfig {
	accessTokenTtlSeconds: number
	refreshTokenTtlSeconds: number
	verificationTokenTtlSeconds: number
	passwordResetTokenTtlSeconds: number
	rateLimits: {
		windowSeconds: number
		loginPerIp: number
		/** Failed logins per account (email) from one client address in a window: that address is refused beyond it. */
		loginPerAccount: number
		/** Failed logins per account from all addresses in a window after which every attempt is slowed (never refused). */
		loginSlowdownAfter: number
		signupPerIp: number
		/** Verification and reset mails requested, per client IP and per email address. */
		mailPerIp: number
		mailPerAccount: number
	}
}

/** Streams, consumers and the outbox relay (README, Event backbone). */
export interface EventsConfig {
	/** P of `session-commands:{p}`; fixed for a deployment. */
	commandPartitions: number
	/** Stream entries older than this are trimmed (0 = by length only); bounds WebSocket replay. */
	streamRetentionMs: number
	/** Streams are capped at about this many entries (0 = no cap). */
	streamMaxLen: number
	/** Pending entries idle this long are claimed by another consumer. */
	claimIdleMs: number
	/** Failed deliveries before an entry moves to `<stream>:dead`. */
	maxDeliveries: number
	/** Parallel consume loops of the consumer role. */
	consumerConcurrency: number
	/** Stream entries per consumer batch (one transaction). */
	consumerBatchSize: number
	relayIntervalMs: number
	/** Published outbox rows are deleted after this long. */
	outboxRetentionMs: number
}

/** The WebSocket `/ws/sessions` (README, Realtime WebSocket). */
export interface RealtimeConfig {
	/** Bytes queued for one socket before it is closed with 1013 (slow consumer). */
	sendBufferBytes: number
	/** A socket silent this long is pinged, and closed when the ping goes unanswered. */
	idleTimeoutSeconds: number
}

/** Partition leases of runners (README, Running a fleet). */
export interface OwnershipConfig {
	/** A partition's lease expires this long after its holder's last renewal. */
	leaseTtlMs: number
	/** Renewals run this often: three chances within one TTL. */
	renewEveryMs: number
	/** A runner whose renewals failed for `leaseTtlMs - safetyMarginMs` closes that partition's sockets. */
	safetyMarginMs: number
}

export class ConfigError extends Error {
	override name = 'ConfigError'
}

// Development-only fallbacks. Production refuses to start without real values.
const DEV_SECRETS = {
	JWT_SECRET: 'development-only-jwt-secret-change-me-0123456789',
	ENCRYPTION_KEY: Buffer.alloc(32, 7).toString('base64'),
} as const

const HINTS: Record<string, string> = {
	DATABASE_URL: 'must be a postgres:// URL',
	REDIS_URL: 'must be a redis:// or rediss:// URL',
	REDIS_PREFIX: 'must not contain { or } (they would become the Redis Cluster hash tag)',
	JWT_SECRET: 'must be at least 32 characters',
	ENCRYPTION_KEY: 'must be 32 bytes in base64 (openssl rand -base64 32)',
	WA_ROOT_PUBLIC_KEY: 'must be a 32-byte Curve25519 public key in base64',
	SMTP_URL: 'must be an smtp:// or smtps:// URL',
	PUBLIC_URL: 'must be an http(s):// URL',
	WA_WEBSOCKET_URL: 'must be a ws:// or wss:// URL',
	MEDIA_STORE: 'must be fs or s3',
	MEDIA_DOWNLOAD: 'must be eager, on_demand or off',
	MEDIA_S3_ENDPOINT: 'must be an http(s):// URL',
	ROLES: 'must be a comma-separated list of api, runner, consumer',
	METRICS_ENABLED: 'must be true or false',
	COOKIE_SECURE: 'must be true or false',
	PORT: 'must be an integer between 0 and 65535',
}

const BOOLEAN_KEYS = new Set(['METRICS_ENABLED', 'COOKIE_SECURE'])
const INTEGER_KEYS = new Set(
	Object.entries(Env.properties).flatMap(([key, schema]) => ((schema as { type?: string }).type === 'integer' ? [key] : [])),
)

/** Environment strings → typed values; empty strings count as unset. */
function coerce(source: Record<string, string | undefined>): Record<string, unknown> {
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

export function loadConfig(source: Record<string, string | undefined> = process.env): Config {
	const input = Value.Default(Env, coerce(source)) as Record<string, unknown>
	const seen = new Set<string>()
	const problems = [...Value.Errors(Env, input)].flatMap((e) => {
		const key = e.path.replace(/^\//, '') || '(root)'
		if (seen.has(key)) return []
		seen.add(key)
		const hint = HINTS[key] ?? e.message
		return `${key}: ${hint}${key in input ? ` (got ${JSON.stringify(redactIfSecret(key, input[key]))})` : ''}`
	})
	if (problems.length) throw new ConfigError(`Invalid configuration:\n  ${problems.join('\n  ')}`)
	const env = input as Env

	const production = env.NODE_ENV === 'production'
	const defaultsUsed: string[] = []
	const secret = (key: keyof typeof DEV_SECRETS): string => {
		const value = env[key]
		if (value) return value
		if (production) throw new ConfigError(`${key} must be set when NODE_ENV=production (see docs/configuration.md)`)
		defaultsUsed.push(key)
		return DEV_SECRETS[key]
	}
	const jwtSecret = secret('JWT_SECRET')
	const encryptionKey = Buffer.from(secret('ENCRYPTION_KEY'), 'base64')
	const leaseTtlMs = env.RUNNER_LEASE_TTL_MS
	const safetyMarginMs = env.RUNNER_LEASE_SAFETY_MARGIN_MS ?? Math.floor(leaseTtlMs / 4)
	if (safetyMarginMs * 2 >= leaseTtlMs) throw new ConfigError('RUNNER_LEASE_SAFETY_MARGIN_MS must be less than half of RUNNER_LEASE_TTL_MS')
	if (production && env.WA_ROOT_PUBLIC_KEY && !env.WA_WEBSOCKET_URL)
		throw new ConfigError('WA_ROOT_PUBLIC_KEY is set without WA_WEBSOCKET_URL; set both or neither')
	if (env.MEDIA_STORE === 's3' && !env.MEDIA_S3_BUCKET) throw new ConfigError('MEDIA_STORE=s3 needs MEDIA_S3_BUCKET')
	const cookieSecure = env.COOKIE_SECURE ?? production
	const publicUrl = env.PUBLIC_URL.replace(/\/+$/, '')
	const warnings: string[] = []
	// Browsers drop a Secure cookie set over plain http (localhost aside), so sign-in would seem to
	// work and every refresh fail; the other way round the refresh token travels in the clear.
	if (cookieSecure && publicUrl.startsWith('http://'))
		warnings.push(
			`COOKIE_SECURE is on but PUBLIC_URL (${publicUrl}) is plain http: browsers outside localhost will not keep the refresh cookie; serve https or set COOKIE_SECURE=false`,
		)
	if (!cookieSecure && publicUrl.startsWith('https://'))
		warnings.push(
			`COOKIE_SECURE is off but PUBLIC_URL (${publicUrl}) is https: the refresh cookie may travel over plain http; set COOKIE_SECURE=true`,
		)

	return {
		env: env.NODE_ENV,
		port: env.PORT,
		host: env.HOST,
		databaseUrl: env.DATABASE_URL,
		dataDir: env.DATA_DIR,
		redisUrl: env.REDIS_URL,
		redisPrefix: env.REDIS_PREFIX,
		jwtSecret,
		encryptionKey,
		smtpUrl: env.SMTP_URL,
		mailFrom: env.MAIL_FROM,
		publicUrl,
		metricsEnabled: env.METRICS_ENABLED,
		metricsToken: env.METRICS_TOKEN,
		roles: new Set(env.ROLES.split(',') as Role[]),
		logLevel: env.LOG_LEVEL,
		waWebSocketUrl: env.WA_WEBSOCKET_URL,
		waRootPublicKey: env.WA_ROOT_PUBLIC_KEY,
		waReconnect: { baseMs: env.WA_RECONNECT_BASE_MS, maxMs: env.WA_RECONNECT_MAX_MS, maxAttempts: env.WA_RECONNECT_MAX_ATTEMPTS },
		bodyLimitBytes: env.BODY_LIMIT_BYTES,
		shutdownTimeoutMs: env.SHUTDOWN_TIMEOUT_MS,
		cookieSecure,
		maxSessionsPerTenant: env.MAX_SESSIONS_PER_TENANT,
		trustProxyHops: env.TRUST_PROXY_HOPS,
		auth: {
			accessTokenTtlSeconds: env.ACCESS_TOKEN_TTL_SECONDS,
			refreshTokenTtlSeconds: env.REFRESH_TOKEN_TTL_SECONDS,
			verificationTokenTtlSeconds: env.VERIFICATION_TOKEN_TTL_SECONDS,
			passwordResetTokenTtlSeconds: env.PASSWORD_RESET_TOKEN_TTL_SECONDS,
			rateLimits: {
				windowSeconds: env.RATE_LIMIT_WINDOW_SECONDS,
				loginPerIp: env.RATE_LIMIT_LOGIN_PER_IP,
				loginPerAccount: env.RATE_LIMIT_LOGIN_PER_ACCOUNT,
				loginSlowdownAfter: env.RATE_LIMIT_LOGIN_SLOWDOWN_AFTER,
				signupPerIp: env.RATE_LIMIT_SIGNUP_PER_IP,
				mailPerIp: env.RATE_LIMIT_MAIL_PER_IP,
				mailPerAccount: env.RATE_LIMIT_MAIL_PER_ACCOUNT,
			},
		},
		events: {
			commandPartitions: env.COMMAND_PARTITIONS,
			streamRetentionMs: env.STREAM_RETENTION_SECONDS * 1000,
			streamMaxLen: env.STREAM_MAX_LEN,
			claimIdleMs: env.EVENT_CLAIM_IDLE_MS,
			maxDeliveries: env.EVENT_MAX_DELIVERIES,
			consumerConcurrency: env.CONSUMER_CONCURRENCY,
			consumerBatchSize: env.CONSUMER_BATCH_SIZE,
			relayIntervalMs: env.OUTBOX_RELAY_INTERVAL_MS,
			outboxRetentionMs: env.OUTBOX_RETENTION_SECONDS * 1000,
		},
		idempotencyKeyRetentionMs: env.IDEMPOTENCY_KEY_RETENTION_SECONDS * 1000,
		realtime: { sendBufferBytes: env.WS_SEND_BUFFER_BYTES, idleTimeoutSeconds: env.WS_IDLE_TIMEOUT_SECONDS },
		ownership: { leaseTtlMs, renewEveryMs: Math.floor(leaseTtlMs / 3), safetyMarginMs },
		media: {
			store:
				env.MEDIA_STORE === 's3'
					? {
							kind: 's3',
							bucket: env.MEDIA_S3_BUCKET!,
							endpoint: env.MEDIA_S3_ENDPOINT,
							region: env.MEDIA_S3_REGION,
							accessKeyId: env.MEDIA_S3_ACCESS_KEY_ID,
							secretAccessKey: env.MEDIA_S3_SECRET_ACCESS_KEY,
						}
					: { kind: 'fs', dir: env.MEDIA_DIR ?? join(env.DATA_DIR, 'media') },
			maxBytes: env.MEDIA_MAX_BYTES,
			download: env.MEDIA_DOWNLOAD,
		},
		defaultsUsed,
		warnings,
	}
}

const SECRET_KEYS = /SECRET|KEY|TOKEN|PASSWORD|URL/
function redactIfSecret(key: string, value: unknown): unknown {
	return SECRET_KEYS.test(key) && typeof value === 'string' ? '[redacted]' : value
}
