import { join } from 'node:path'
import { Value } from '@sinclair/typebox/value'
import { coerce, DEV_SECRETS, durationMs, Env, HINTS, redactIfSecret } from './env'
import { misspeltSettings } from './misspelt'
import { URL_SETTINGS, urlProblem } from './urls'
import type { Config, Role } from './types'

/** REDIS_CLUSTER_NAT_MAP (already checked against its pattern) as ioredis' natMap. */
function parseNatMap(text: string | undefined): Config['redisNatMap'] {
	if (!text) return undefined
	const split = (address: string) => {
		const at = address.lastIndexOf(':')
		return { host: address.slice(0, at), port: Number(address.slice(at + 1)) }
	}
	return Object.fromEntries(
		text
			.split(',')
			.map((pair) => pair.split('=') as [string, string])
			.map(([from, to]) => [from, split(to)]),
	)
}

export type * from './types'

export class ConfigError extends Error {
	override name = 'ConfigError'
}

interface ExpectedSchema {
	type?: string
	anyOf?: { const?: unknown }[]
	minimum?: number
	maximum?: number
	minLength?: number
}

/** What a setting takes, in words, where TypeBox's message would say only "Expected union value" or "Expected integer". */
function expected(schema: ExpectedSchema): string | null {
	if (schema.anyOf?.every((s) => 'const' in s)) return `must be one of: ${schema.anyOf.map((s) => s.const).join(', ')}`
	if (schema.type === 'boolean') return 'must be true or false'
	if (schema.type === 'string' && schema.minLength !== undefined) return `must be at least ${schema.minLength} characters`
	if (schema.type !== 'integer' && schema.type !== 'number') return null
	const what = schema.type === 'integer' ? 'a whole number' : 'a number'
	if (schema.minimum !== undefined && schema.maximum !== undefined) return `must be ${what} from ${schema.minimum} to ${schema.maximum}`
	if (schema.minimum !== undefined) return `must be ${what} of at least ${schema.minimum}`
	return `must be ${what}`
}

// Development-only fallbacks. Production refuses to start without real values.
export function loadConfig(source: Record<string, string | undefined> = process.env): Config {
	const input = Value.Default(Env, coerce(source)) as Record<string, unknown>
	const seen = new Set<string>()
	const problems = [...Value.Errors(Env, input)].flatMap((e) => {
		const key = e.path.replace(/^\//, '') || '(root)'
		if (seen.has(key)) return []
		seen.add(key)
		const hint = HINTS[key] ?? expected(e.schema as ExpectedSchema) ?? e.message
		return `${key}: ${hint}${key in input ? ` (got ${JSON.stringify(redactIfSecret(key, input[key]))})` : ''}`
	})
	for (const key of URL_SETTINGS) {
		const value = input[key]
		const problem = !seen.has(key) && typeof value === 'string' ? urlProblem(key, value) : null
		if (problem) problems.push(problem)
	}
	if (problems.length) throw new ConfigError(`Invalid configuration:\n  ${problems.join('\n  ')}`)
	const env = input as Env

	const production = env.NODE_ENV === 'production'
	const defaultsUsed: string[] = []
	const unset = (['JWT_SECRET', 'ENCRYPTION_KEY'] as const).filter((key) => !env[key])
	if (production && unset.length) throw new ConfigError(`${unset.join(' and ')} must be set when NODE_ENV=production (see docs/configuration.md)`)
	const secret = (key: keyof typeof DEV_SECRETS): string => {
		const value = env[key]
		if (value) return value
		defaultsUsed.push(key)
		return DEV_SECRETS[key]
	}
	const jwtSecret = secret('JWT_SECRET')
	const encryptionKey = Buffer.from(secret('ENCRYPTION_KEY'), 'base64')
	const redisCluster = env.REDIS_URL ? /^rediss?\+cluster:/.test(env.REDIS_URL) : false
	if (env.REDIS_CLUSTER_NAT_MAP && !redisCluster) throw new ConfigError('REDIS_CLUSTER_NAT_MAP needs a redis+cluster:// REDIS_URL')
	const leaseTtlMs = env.RUNNER_LEASE_TTL_MS
	const safetyMarginMs = env.RUNNER_LEASE_SAFETY_MARGIN_MS ?? Math.floor(leaseTtlMs / 4)
	if (safetyMarginMs * 2 >= leaseTtlMs) throw new ConfigError('RUNNER_LEASE_SAFETY_MARGIN_MS must be less than half of RUNNER_LEASE_TTL_MS')
	const lostAfterMs = env.RUNNER_LOST_AFTER_MS ?? leaseTtlMs * 2
	if (lostAfterMs !== 0 && lostAfterMs < leaseTtlMs)
		throw new ConfigError(
			'RUNNER_LOST_AFTER_MS must be 0 (off) or at least RUNNER_LEASE_TTL_MS: a live runner may take up to one TTL to take a partition over',
		)
	if (production && env.WA_ROOT_PUBLIC_KEY && !env.WA_WEBSOCKET_URL)
		throw new ConfigError('WA_ROOT_PUBLIC_KEY is set without WA_WEBSOCKET_URL; set both or neither')
	if (env.QUERY_TIMEOUT_MS >= env.REQUEST_TIMEOUT_MS)
		throw new ConfigError(
			`QUERY_TIMEOUT_MS (${env.QUERY_TIMEOUT_MS}) must be less than REQUEST_TIMEOUT_MS (${env.REQUEST_TIMEOUT_MS}): a request that asks a runner must be able to answer 504 before its own deadline`,
		)
	if (env.MEDIA_STORE === 's3' && !env.MEDIA_S3_BUCKET) throw new ConfigError('MEDIA_STORE=s3 needs MEDIA_S3_BUCKET')
	// Without Redis the bus lives in this process: a role left to another process would never hear
	// of the work (a send accepted by an API process, and never sent). Webhooks alone may be left out.
	const missing = env.ROLES ? ['api', 'runner', 'consumer'].filter((r) => !env.ROLES!.split(',').includes(r)) : []
	if (missing.length && !env.REDIS_URL)
		throw new ConfigError(
			`ROLES=${env.ROLES} leaves out ${missing.join(', ')}, but without REDIS_URL the roles talk only within one process: set REDIS_URL to split them across processes, or run them all here`,
		)
	// Without DATABASE_URL each process keeps its own embedded database: the process that runs a
	// session would never find the session another process created (it would stay `starting`).
	if (missing.length && !env.DATABASE_URL)
		throw new ConfigError(
			`ROLES=${env.ROLES} leaves out ${missing.join(', ')}, but without DATABASE_URL each process keeps its own embedded database and the others would not see this one's data: set DATABASE_URL (the same PostgreSQL for every process), or run all roles here`,
		)
	const cookieSecure = env.COOKIE_SECURE ?? production
	// PORT=0 (any free port) cannot name the port in advance: the default port stands in for it.
	const publicUrl = (env.PUBLIC_URL ?? `http://localhost:${env.PORT || 3000}`).replace(/\/+$/, '')
	const warnings: string[] = []
	// Browsers drop a Secure cookie set over plain http (localhost aside), so sign-in would seem to
	// work and every refresh fail; the other way round the refresh token travels in the clear.
	if (cookieSecure && publicUrl.startsWith('http://'))
		warnings.push(
			`COOKIE_SECURE is on but PUBLIC_URL (${publicUrl}) is plain http: browsers outside localhost will not keep the refresh cookie; serve https or set COOKIE_SECURE=false`,
		)
	for (const { name, meant } of misspeltSettings(Object.keys(source), Object.keys(Env.properties)))
		warnings.push(
			`${name} is not a setting, and is ignored: did you mean ${meant}? (${meant} ${meant in source ? 'is set, and that value is used' : 'keeps its default'})`,
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
		redisNatMap: parseNatMap(env.REDIS_CLUSTER_NAT_MAP),
		// A cluster fails over on its own, and an append its master acknowledged but had not yet
		// replicated is gone after that: on a cluster, appends wait for a replica by default.
		redisWait: { replicas: env.REDIS_WAIT_REPLICAS ?? (redisCluster ? 1 : 0), timeoutMs: env.REDIS_WAIT_TIMEOUT_MS },
		jwtSecret,
		encryptionKey,
		smtpUrl: env.SMTP_URL,
		mailDelivery: env.SMTP_URL ? 'smtp' : env.NODE_ENV !== 'production' ? 'log' : 'none',
		mailFrom: env.MAIL_FROM,
		publicUrl,
		metricsEnabled: env.METRICS_ENABLED,
		metricsToken: env.METRICS_TOKEN,
		// Every role by default, in both modes: a webhook a tenant creates is sent without the operator
		// having to know a role exists. A fleet picks which processes send (and from where) with ROLES.
		roles: new Set((env.ROLES ?? 'api,runner,consumer,webhooks').split(',') as Role[]),
		logLevel: env.LOG_LEVEL,
		waWebSocketUrl: env.WA_WEBSOCKET_URL,
		waRootPublicKey: env.WA_ROOT_PUBLIC_KEY,
		waMediaCaFile: env.WA_MEDIA_CA_FILE,
		// A received file's URL is the sender's to write: files are fetched only from WhatsApp's
		// hosts, and from the host of a WhatsApp endpoint configured instead (a stand-in).
		waMediaHosts: env.WA_MEDIA_HOSTS?.split(',') ?? ['whatsapp.net', ...(env.WA_WEBSOCKET_URL ? [new URL(env.WA_WEBSOCKET_URL).hostname] : [])],
		waReconnect: { baseMs: env.WA_RECONNECT_BASE_MS, maxMs: env.WA_RECONNECT_MAX_MS, maxAttempts: env.WA_RECONNECT_MAX_ATTEMPTS },
		waStoreTimeoutMs: env.WA_STORE_TIMEOUT_MS,
		runnerConnectRate: env.RUNNER_CONNECT_RATE,
		bodyLimitBytes: env.BODY_LIMIT_BYTES,
		shutdownTimeoutMs: env.SHUTDOWN_TIMEOUT_MS,
		requestTimeoutMs: env.REQUEST_TIMEOUT_MS,
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
			userRateLimit: { points: env.USER_RATE_LIMIT, windowSeconds: env.USER_RATE_LIMIT_WINDOW_SECONDS },
		},
		apiKeys: {
			rateLimit: { points: env.API_KEY_RATE_LIMIT, windowSeconds: env.API_KEY_RATE_LIMIT_WINDOW_SECONDS },
			lastUsedFlushMs: env.API_KEY_LAST_USED_FLUSH_SECONDS * 1000,
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
		sessionPurge: { batchRows: env.SESSION_PURGE_BATCH_ROWS, pauseMs: env.SESSION_PURGE_PAUSE_MS },
		realtime: {
			sendBufferBytes: env.WS_SEND_BUFFER_BYTES,
			idleTimeoutSeconds: env.WS_IDLE_TIMEOUT_SECONDS,
			maxSocketsPerTenant: env.WS_MAX_SOCKETS_PER_TENANT,
		},
		ownership: { leaseTtlMs, renewEveryMs: Math.floor(leaseTtlMs / 3), safetyMarginMs, lostAfterMs },
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
			quotaBytes: env.MEDIA_QUOTA_BYTES,
			download: env.MEDIA_DOWNLOAD,
			collect: { intervalMs: env.MEDIA_COLLECT_INTERVAL_SECONDS * 1000, graceMs: env.MEDIA_COLLECT_GRACE_SECONDS * 1000 },
		},
		webhooks: {
			retryScheduleMs: env.WEBHOOK_RETRY_SCHEDULE.split(',').map(durationMs),
			timeoutMs: env.WEBHOOK_TIMEOUT_MS,
			allowPrivateTargets: env.WEBHOOK_ALLOW_PRIVATE_TARGETS,
			disableAfterMs: env.WEBHOOK_DISABLE_AFTER_SECONDS * 1000,
			concurrency: env.WEBHOOK_CONCURRENCY,
			pollMs: env.WEBHOOK_POLL_MS,
			deliveryRetentionMs: env.WEBHOOK_DELIVERY_RETENTION_SECONDS * 1000,
			maxPerTenant: env.MAX_WEBHOOKS_PER_TENANT,
		},
		people: {
			queryTimeoutMs: env.QUERY_TIMEOUT_MS,
			numberCheckMaxNumbers: env.NUMBER_CHECK_MAX_NUMBERS,
			numberCheckLimit: env.NUMBER_CHECK_LIMIT,
			numberCheckWindowSeconds: env.NUMBER_CHECK_WINDOW_SECONDS,
			pictureTtlSeconds: env.PROFILE_PICTURE_TTL_SECONDS,
		},
		defaultsUsed,
		warnings,
	}
}
