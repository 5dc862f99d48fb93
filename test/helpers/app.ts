import { loadConfig, type Config } from '../../src/config'
import { createLogger } from '../../src/logger'
import { startServer, type RunningServer } from '../../src/server'
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
 * overrides settings (strings, as the process environment would give them).
 */
export async function startTestApp(env: Record<string, string | undefined> = {}): Promise<TestApp> {
	const database = await createTestDatabase()
	const redis = createTestRedisPrefix()
	const config = loadConfig({
		NODE_ENV: 'test',
		PORT: '0',
		HOST: '127.0.0.1',
		DATABASE_URL: database.url,
		REDIS_URL: REDIS_TEST_URL,
		REDIS_PREFIX: redis.prefix,
		LOG_LEVEL: process.env.TEST_LOG_LEVEL ?? 'silent',
		...env,
	})
	const server = await startServer(config, createLogger(config))
	return {
		url: `http://127.0.0.1:${server.port}`,
		server,
		config,
		database,
		redisPrefix: redis.prefix,
		async close() {
			await server.stop()
			await database.drop()
			await redis.cleanup()
		},
	}
}
