import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { type Config, loadConfig } from '../../src/config'
import { createLogger } from '../../src/logger'
import { type RunningServer, startServer } from '../../src/server'

export interface EmbeddedServer {
	server: RunningServer
	config: Config
	url: string
	/** Stops the server and removes its data folder. */
	close(): Promise<void>
}

/**
 * The whole server in embedded mode, as `bun run start` runs with no database or Redis configured:
 * PGlite in a fresh folder of its own and the in-process bus. `env` adds or overrides settings.
 */
export async function startEmbeddedServer(name: string, env: Record<string, string | undefined> = {}): Promise<EmbeddedServer> {
	const dataDir = mkdtempSync(join(tmpdir(), `sb-embedded-${name}-`))
	const config = embeddedConfig(dataDir, env)
	const server = await startServer(config, createLogger(config))
	return {
		server,
		config,
		url: `http://127.0.0.1:${server.port}`,
		async close() {
			await server.stop()
			rmSync(dataDir, { recursive: true, force: true })
		},
	}
}

/** An embedded server's settings on `dataDir`: a test that restarts a server on one folder starts it with these. */
export function embeddedConfig(dataDir: string, env: Record<string, string | undefined> = {}): Config {
	return loadConfig({
		NODE_ENV: 'test',
		PORT: '0',
		HOST: '127.0.0.1',
		DATA_DIR: dataDir,
		LOG_LEVEL: process.env.TEST_LOG_LEVEL ?? 'silent',
		...env,
	})
}
