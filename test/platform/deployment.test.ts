import { describe, expect, it } from 'bun:test'
import { readdirSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { loadConfig } from '../../src/config'
import { createLogger } from '../../src/logger'
import { startTestApp } from '../helpers/app'
import { REPO_ROOT } from '../helpers/process'

/** The Docker image and Compose file, read as files (no Docker engine runs here), and the start-up checks. */

const read = (name: string) => readFileSync(join(REPO_ROOT, name), 'utf8')

describe('the Docker build', () => {
	it('leaves node_modules, the data folder, git and local files out of the build context', () => {
		const ignored = read('.dockerignore')
			.split('\n')
			.map((line) => line.trim())
		for (const entry of ['node_modules', 'data', '.git', '.env', 'test-results']) expect(ignored).toContain(entry)
	})

	it('copies the manifest of every workspace package into the install stage, as the lockfile lists them', () => {
		const dockerfile = read('Dockerfile')
		for (const name of readdirSync(join(REPO_ROOT, 'packages')))
			expect(dockerfile).toContain(`COPY packages/${name}/package.json ./packages/${name}/`)
	})

	it('keeps /app/data in a volume, in the image and in Compose', () => {
		expect(read('Dockerfile')).toMatch(/^VOLUME \["\/app\/data"\]$/m)
		const compose = Bun.YAML.parse(read('docker-compose.yml')) as { services: { app: { volumes: string[] } } }
		expect(compose.services.app.volumes.some((v) => v.endsWith(':/app/data'))).toBe(true)
	})

	it('gives a stopping container longer than the drain before it is killed', () => {
		const compose = Bun.YAML.parse(read('docker-compose.yml')) as {
			services: { app: { stop_grace_period: string; environment: Record<string, string> } }
		}
		const grace = Number(/^(\d+)s$/.exec(compose.services.app.stop_grace_period)?.[1])
		const drainMs = Number(/:-(\d+)\}/.exec(compose.services.app.environment.SHUTDOWN_TIMEOUT_MS!)?.[1])
		expect(drainMs).toBe(loadConfig({ NODE_ENV: 'test' }).shutdownTimeoutMs)
		expect(grace * 1000).toBeGreaterThanOrEqual(drainMs * 2)
	})
})

describe('settings that disagree', () => {
	const production = { NODE_ENV: 'production', JWT_SECRET: 'x'.repeat(40), ENCRYPTION_KEY: Buffer.alloc(32, 1).toString('base64') }

	it('warns when the refresh cookie is Secure but PUBLIC_URL is plain http, and the other way round', () => {
		expect(loadConfig({ ...production, PUBLIC_URL: 'http://chat.example.com' }).warnings).toEqual([
			expect.stringContaining('COOKIE_SECURE is on but PUBLIC_URL'),
		])
		expect(loadConfig({ ...production, PUBLIC_URL: 'https://chat.example.com', COOKIE_SECURE: 'false' }).warnings).toEqual([
			expect.stringContaining('COOKIE_SECURE is off but PUBLIC_URL'),
		])
		expect(loadConfig({ ...production, PUBLIC_URL: 'https://chat.example.com' }).warnings).toEqual([])
	})

	it('logs the warning at start', async () => {
		const lines: string[] = []
		const logger = createLogger(loadConfig({ NODE_ENV: 'test', LOG_LEVEL: 'warn' }), 'switchboard', {
			write: (line: string) => void lines.push(line),
		})
		const app = await startTestApp({ COOKIE_SECURE: 'true', PUBLIC_URL: 'http://chat.example.com' }, {}, { logger })
		await app.close()
		expect(lines.some((line) => line.includes('COOKIE_SECURE is on but PUBLIC_URL (http://chat.example.com)'))).toBe(true)
	})
})
