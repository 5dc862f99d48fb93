import { cpSync, existsSync, mkdtempSync, readdirSync, renameSync, rmSync, statSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { type Config, loadConfig } from '../../src/config'
import { openPglite } from '../../src/db/client'
import { createLogger } from '../../src/logger'
import { pgliteDir, type RunningServer, startServer } from '../../src/server'
import { migrationsDigest } from './database'

export interface EmbeddedServer {
	server: RunningServer
	config: Config
	url: string
	/** Stops the server and removes its data folder. */
	close(): Promise<void>
}

/**
 * The whole server in embedded mode, as `bun run start` runs with no database or Redis configured:
 * PGlite in a folder of its own (see `embeddedDataDir`) and the in-process bus. `env` adds or
 * overrides settings.
 */
export async function startEmbeddedServer(name: string, env: Record<string, string | undefined> = {}): Promise<EmbeddedServer> {
	const dataDir = await embeddedDataDir(name)
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
		// As in startTestApp: tests may make thousands of requests a minute as one user.
		USER_RATE_LIMIT: '1000000',
		...env,
	})
}

/**
 * A new data folder for an embedded server, holding a PGlite database that is initialised and
 * migrated: a copy of one built once per migration set and PGlite version, as test databases are
 * clones of a template. PGlite's initdb takes 5–25 s on a loaded two-core machine, the copy a
 * tenth of a second. A first start from nothing is the server process test's.
 */
export async function embeddedDataDir(name: string): Promise<string> {
	const template = await pgliteTemplate()
	const dir = mkdtempSync(join(tmpdir(), `sb-embedded-${name}-`))
	cpSync(template, pgliteDir(dir), { recursive: true })
	return dir
}

/** A template older than this is no longer copied by any run in progress. */
const STALE_AFTER_MS = 2 * 60 * 60 * 1000

let template: Promise<string> | undefined

function pgliteTemplate(): Promise<string> {
	template ??= (async () => {
		const { version } = await Bun.file(Bun.resolveSync('@electric-sql/pglite/package.json', import.meta.dir)).json()
		const path = join(tmpdir(), `sb-pglite-${version}-${migrationsDigest()}`)
		// Complete once it exists: it is built aside and renamed into place.
		if (existsSync(path)) return path
		const building = mkdtempSync(`${path}.building-`)
		try {
			const database = await openPglite({ dataDir: building })
			try {
				await database.migrate()
			} finally {
				await database.close()
			}
			// Test processes that start together may each build one: the first rename wins.
			try {
				renameSync(building, path)
			} catch (err) {
				if (!existsSync(path)) throw err
			}
			removeStaleTemplates(path)
		} finally {
			rmSync(building, { recursive: true, force: true })
		}
		return path
	})()
	return template
}

/** Templates of other migration sets or PGlite versions (40 MB each), once no run can still be copying them. */
function removeStaleTemplates(current: string) {
	for (const name of readdirSync(tmpdir())) {
		const path = join(tmpdir(), name)
		if (!name.startsWith('sb-pglite-') || path === current || name.includes('.building-')) continue
		if (Date.now() - statSync(path).mtimeMs > STALE_AFTER_MS) rmSync(path, { recursive: true, force: true })
	}
}
