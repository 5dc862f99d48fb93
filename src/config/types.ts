import type { Env } from './env'

export type Role = 'api' | 'runner' | 'consumer' | 'webhooks'

export interface Config {
	env: Env['NODE_ENV']
	port: number
	host: string
	databaseUrl: string | undefined
	dataDir: string
	redisUrl: string | undefined
	redisPrefix: string
	/** REDIS_CLUSTER_NAT_MAP: announced node address → the address to dial. */
	redisNatMap: Record<string, { host: string; port: number }> | undefined
	/** Writes the system acknowledges (event appends, lease acquisitions) wait for this many replicas (`WAIT`); 0 = none. */
	redisWait: { replicas: number; timeoutMs: number }
	jwtSecret: string
	encryptionKey: Buffer
	smtpUrl: string | undefined
	/**
	 * Where account mail goes: `smtp` when SMTP_URL is set; otherwise `log`, each mail written to
	 * the log whole outside production (so a developer can follow its link), or `none` in
	 * production, where the one-time links it carries must not sit in logs.
	 */
	mailDelivery: 'smtp' | 'log' | 'none'
	mailFrom: string
	publicUrl: string
	metricsEnabled: boolean
	metricsToken: string | undefined
	roles: ReadonlySet<Role>
	logLevel: Env['LOG_LEVEL']
	waWebSocketUrl: string | undefined
	waRootPublicKey: string | undefined
	/** A CA certificate (PEM file) the runner trusts for WhatsApp's media hosts beside the system's: a stand-in's CDN. */
	waMediaCaFile: string | undefined
	/** Hosts (each with its subdomains) a received file may be fetched from; others are read as WhatsApp's default host. */
	waMediaHosts: string[]
	/** Reconnect policy of WhatsApp sessions after a transient disconnect (docs/api.md, Sessions). */
	waReconnect: { baseMs: number; maxMs: number; maxAttempts: number }
	/** How long a session waits for the database on its WhatsApp credentials before it treats the database as away. */
	waStoreTimeoutMs: number
	/** WhatsApp sockets a runner opens per second at most, for all its sessions together (after a restart, every reconnect). */
	runnerConnectRate: number
	bodyLimitBytes: number
	shutdownTimeoutMs: number
	/** A request not answered by then gets 503 `REQUEST_TIMEOUT` (a database or Redis that stopped answering). */
	requestTimeoutMs: number
	cookieSecure: boolean
	maxSessionsPerTenant: number
	/** Reverse proxies in front of the API whose X-Forwarded-For entries are trusted (0 = none). */
	trustProxyHops: number
	auth: AuthConfig
	apiKeys: ApiKeysConfig
	events: EventsConfig
	/** An Idempotency-Key of a send is remembered this long. */
	idempotencyKeyRetentionMs: number
	/** How deleted sessions' rows are deleted: rows per transaction, and the pause between two. */
	sessionPurge: { batchRows: number; pauseMs: number }
	realtime: RealtimeConfig
	ownership: OwnershipConfig
	media: MediaConfig
	webhooks: WebhooksConfig
	people: PeopleConfig
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
	/** Bytes of files one tenant may keep before its uploads are refused; 0: no bound. */
	quotaBytes: number
	/** `eager`: as a message arrives; `on_demand`: when first asked for; `off`: never. */
	download: 'eager' | 'on_demand' | 'off'
	/** Stored objects no file names any more are removed every `intervalMs`, once unused for `graceMs`. */
	collect: { intervalMs: number; graceMs: number }
}

/** Number checks, profile pictures and the queries behind them (docs/contacts.md). */
export interface PeopleConfig {
	/** How long the API waits for a session's runner to answer a query before 504. */
	queryTimeoutMs: number
	/** Numbers one check may ask about. */
	numberCheckMaxNumbers: number
	/** Numbers one session may check per window: WhatsApp bans accounts that look up too many. */
	numberCheckLimit: number
	numberCheckWindowSeconds: number
	/** A fetched profile picture (or its absence) is served from the cache this long. */
	pictureTtlSeconds: number
}

/** Token lifetimes and rate limits of accounts and authentication (docs/api.md, Accounts and auth). */
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
	/**
	 * Requests per signed-in user in each window, counted by each instance alone (REST calls and
	 * WebSocket connections made with an access token): a guard of the instance's capacity against
	 * one runaway client, which costs no round trip to Redis.
	 */
	userRateLimit: { points: number; windowSeconds: number }
}

/** API keys: how many requests a key may make, and how often their last use is written (docs/configuration.md). */
export interface ApiKeysConfig {
	/** Requests per key in each window, on every instance together (REST calls and WebSocket connections). */
	rateLimit: { points: number; windowSeconds: number }
	/** How often the last use of keys, recorded in memory, is written to the database. */
	lastUsedFlushMs: number
}

/** Streams, consumers and the outbox relay (docs/operations.md, How events flow). */
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

/** The WebSocket `/ws/sessions` (docs/api.md, Realtime WebSocket). */
export interface RealtimeConfig {
	/** Bytes queued for one socket before it is closed with 1013 (slow consumer). */
	sendBufferBytes: number
	/** A socket silent this long is pinged, and closed when the ping goes unanswered. */
	idleTimeoutSeconds: number
	/** Sockets one tenant may hold open on one instance; one more is closed with 4429. */
	maxSocketsPerTenant: number
}

/** Partition leases of runners (docs/operations.md, Running a fleet). */
export interface OwnershipConfig {
	/** A partition's lease expires this long after its holder's last renewal. */
	leaseTtlMs: number
	/** Renewals run this often: three chances within one TTL. */
	renewEveryMs: number
	/** A runner whose renewals failed for `leaseTtlMs - safetyMarginMs` closes that partition's sockets. */
	safetyMarginMs: number
	/** A command partition no runner has held for this long has its sessions said to be lost (`runner_lost`); 0: never. */
	lostAfterMs: number
}

/** Webhook delivery (docs/webhooks.md). */
export interface WebhooksConfig {
	/** Delay before each retry; after the last one the delivery has failed. */
	retryScheduleMs: number[]
	/** One attempt's whole request, connect to last byte. */
	timeoutMs: number
	/** Let URLs reach loopback, private and link-local addresses (self-hosted receivers, tests). */
	allowPrivateTargets: boolean
	/** An endpoint whose deliveries have all failed for this long is disabled. */
	disableAfterMs: number
	/** Requests one dispatcher has in flight at most. */
	concurrency: number
	/** How often an idle dispatcher looks for due deliveries written by other processes. */
	pollMs: number
	/** How long the delivery log keeps a delivery once it is delivered or has failed. */
	deliveryRetentionMs: number
	/** Endpoints one tenant may register, enabled or not: each event goes out once to each of them. */
	maxPerTenant: number
}
