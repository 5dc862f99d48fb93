import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { loadConfig, type Config } from '../../src/config'
import { createLogger, type Logger } from '../../src/logger'
import { startServer, type RunningServer, type ServerOverrides } from '../../src/server'
import { createTestDatabase, type TestDatabase } from './database'
import { createTestRedisPrefix, REDIS_TEST_URL } from './redis'

export interface TestApp {
	/** `http://127.0.0.1:<port>` */
	url: string
	server: RunningServer
	config: Config
	database: TestDatabase
	redisPrefix: string
	/** Stops the server, drops the database and deletes the Redis keys. */
	close(): Promise<void>
}

/**
 * The real server on a free port, on a database and a Redis key prefix of its own. `env` adds or
 * overrides settings (strings, as the process environment would give them); `overrides` swaps
 * dependencies such as the clock.
 *
 * Media files go to a folder of its own, removed at close.
 * `logger` replaces the silent one (a test that reads what is logged).
 *
 * It runs the roles a test of the API needs (`api,runner,consumer`); a test of webhooks adds
 * `webhooks` through `ROLES`, so that other tests do not each start a Worker they never use.
 *
 * It runs as if behind one proxy (TRUST_PROXY_HOPS=1): a test sets `X-Forwarded-For` to give its
 * requests a client address of their own, so per-IP rate limits never couple tests.
 */
export async function startTestApp(
	env: Record<string, string | undefined> = {},
	overrides: ServerOverrides = {},
	{
		logger,
		databaseUrl = (url) => url,
	}: { logger?: Logger /** The URL the server is given for its database (through a proxy, say). */; databaseUrl?: (url: string) => string } = {},
): Promise<TestApp> {
	const database = await createTestDatabase()
	const redis = createTestRedisPrefix()
	const mediaDir = mkdtempSync(join(tmpdir(), 'sb-test-media-'))
	const config = loadConfig({
		NODE_ENV: 'test',
		PORT: '0',
		HOST: '127.0.0.1',
		DATABASE_URL: databaseUrl(database.url),
		REDIS_URL: REDIS_TEST_URL,
		REDIS_PREFIX: redis.prefix,
		LOG_LEVEL: process.env.TEST_LOG_LEVEL ?? 'silent',
		TRUST_PROXY_HOPS: '1',
		MEDIA_DIR: mediaDir,
		ROLES: 'api,runner,consumer',
		// Tests without a runner would see their sessions said lost after a while; the fleet tests turn it on.
		RUNNER_LOST_AFTER_MS: '0',
		// Some tests make thousands of requests a minute as one user (the fuzz test, the isolation sweep);
		// the limit's own tests set it low.
		USER_RATE_LIMIT: '1000000',
		...env,
	})
	const server = await startServer(config, logger ?? createLogger(config), overrides)
	const app: TestApp = {
		url: `http://127.0.0.1:${server.port}`,
		server,
		config,
		database,
		redisPrefix: redis.prefix,
		async close() {
			// `server` may have been replaced by a test that restarted it.
			await app.server.stop()
			await database.drop()
			await redis.cleanup()
			rmSync(mediaDir, { recursive: true, force: true })
		},
	}
	return app
}
