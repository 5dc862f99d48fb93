import { afterAll, describe, expect, it } from 'bun:test'
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { pgliteDir } from '../../src/server'
import { createTestDatabase, PG_ADMIN_URL } from '../helpers/database'
import { REPO_ROOT, spawnServer, waitForOutput } from '../helpers/process'
import { createTestRedisPrefix, REDIS_TEST_URL } from '../helpers/redis'
import { until } from '../helpers/until'

const dataDir = mkdtempSync(join(tmpdir(), 'sb-embedded-'))
afterAll(() => rmSync(dataDir, { recursive: true, force: true }))

describe('the server process', () => {
	it('runs in embedded mode with no configuration, serves /health and /swagger/json, and stops on SIGTERM', async () => {
		const { proc, url } = await spawnServer({ DATA_DIR: dataDir })
		expect((await fetch(`${url}/health`)).status).toBe(200)
		const ready = (await (await fetch(`${url}/ready`)).json()) as { checks: unknown }
		expect(ready.checks).toEqual({ database: 'up', redis: 'disabled' })
		const doc = (await (await fetch(`${url}/swagger/json`)).json()) as { openapi: string; paths: Record<string, unknown> }
		expect(doc.openapi).toStartWith('3.1')
		expect(Object.keys(doc.paths)).toContain('/health')
		expect(existsSync(join(dataDir, 'pglite', 'PG_VERSION'))).toBe(true)
		proc.kill('SIGTERM')
		expect(await proc.exited).toBe(0)
		// PGlite's first start (initdb) alone takes 10–30 s on a loaded two-core machine.
	}, 60_000)

	it('runs against PostgreSQL and Redis when DATABASE_URL and REDIS_URL are set', async () => {
		const db = await createTestDatabase()
		const redis = createTestRedisPrefix()
		try {
			const { proc, url } = await spawnServer({ NODE_ENV: 'test', DATABASE_URL: db.url, REDIS_URL: REDIS_TEST_URL, REDIS_PREFIX: redis.prefix })
			// Ready once its role Workers are: they start after the server listens.
			const ready = await until(async () => {
				const res = await fetch(`${url}/ready`)
				return res.status === 200 && res
			}, 'the role Workers ready')
			expect(((await ready.json()) as { checks: unknown }).checks).toEqual({ database: 'up', redis: 'up' })
			proc.kill('SIGINT')
			expect(await proc.exited).toBe(0)
		} finally {
			await db.drop()
			await redis.cleanup()
		}
	})

	it('refuses to start in production without secrets, naming the missing setting', async () => {
		const proc = Bun.spawn(['bun', 'src/index.ts'], {
			cwd: REPO_ROOT,
			env: { PATH: process.env.PATH ?? '', NODE_ENV: 'production', DATA_DIR: dataDir },
			stdout: 'pipe',
			stderr: 'pipe',
		})
		// Both missing secrets at once, not one per attempt.
		const [line] = await waitForOutput(proc.stderr, /JWT_SECRET and ENCRYPTION_KEY must be set when NODE_ENV=production.*/)
		expect(line).toContain('docs/configuration.md')
		expect(await proc.exited).toBe(1)
	})

	it('refuses a second server on the same embedded database or the same port, saying which, and leaves the first serving', async () => {
		const first = await spawnServer({ DATA_DIR: dataDir })
		const port = new URL(first.url).port
		const other = mkdtempSync(join(tmpdir(), 'sb-embedded-other-'))
		try {
			expect(await failedStart({ DATA_DIR: dataDir })).toEqual({
				code: 1,
				line: expect.stringMatching(/^DATA_DIR .* is in use by another Switchboard process \(pid \d+\): stop it first/),
			})
			expect(await failedStart({ DATA_DIR: other, PORT: port })).toEqual({
				code: 1,
				line: expect.stringContaining(`PORT ${port} on 0.0.0.0 is in use by another process (is Switchboard already running?)`),
			})
			expect((await fetch(`${first.url}/health`)).status).toBe(200)
		} finally {
			first.proc.kill('SIGTERM')
			await first.proc.exited
			rmSync(other, { recursive: true, force: true })
		}
		// Stopped, it leaves the folder free for the next start.
		expect(existsSync(join(dataDir, 'pglite', 'switchboard.pid'))).toBe(false)
	}, 60_000)

	it('says in one line what is wrong with DATABASE_URL when PostgreSQL refuses, or has no such database', async () => {
		expect(await failedStart({ DATABASE_URL: 'postgres://postgres@127.0.0.1:1/switchboard' })).toEqual({
			code: 1,
			line: 'Cannot reach PostgreSQL at DATABASE_URL (postgres://postgres@127.0.0.1:1/switchboard): connection refused. Is it running, and is the address right?',
		})
		const missing = `${PG_ADMIN_URL.replace(/\/[^/]*$/, '')}/sb_no_such_database`
		expect(await failedStart({ DATABASE_URL: missing })).toEqual({
			code: 1,
			line: 'database "sb_no_such_database" does not exist: create it first (`createdb`), or name another database in DATABASE_URL',
		})
	})
})

describe('a start with a media CA file it cannot read', () => {
	it('says so in one line and exits 1, rather than run a runner Worker that crashes on it', async () => {
		expect(await failedStart({ DATA_DIR: dataDir, WA_MEDIA_CA_FILE: '/nonexistent/ca.pem' })).toEqual({
			code: 1,
			line: 'WA_MEDIA_CA_FILE /nonexistent/ca.pem cannot be read (ENOENT): give the path `bun run stand-in` printed, as this process sees it',
		})
	})
})

describe('a start with a media folder it cannot write', () => {
	it('says so in one line and exits 1, rather than answer every upload with 500', async () => {
		// A folder below a file cannot be made, whoever runs the test (root included).
		const file = join(dataDir, 'not-a-folder')
		writeFileSync(file, '')
		expect(await failedStart({ DATA_DIR: dataDir, MEDIA_DIR: join(file, 'media') })).toEqual({
			code: 1,
			line: `The media folder ${join(file, 'media')} cannot be written by this process (ENOTDIR on ${join(file, 'media')}): fix its owner or permissions, or set MEDIA_DIR (by default <DATA_DIR>/media)`,
		})
	})
})

describe('a start with a DATA_DIR that is a file', () => {
	it('names DATA_DIR, not the media folder below it', async () => {
		const file = join(dataDir, 'a-file')
		writeFileSync(file, '')
		expect(await failedStart({ DATA_DIR: file })).toEqual({
			code: 1,
			line: `DATA_DIR ${file} is not a folder (ENOTDIR): point it at a folder, or at a path that does not exist yet`,
		})
	})
})

describe('a start without Redis', () => {
	it('says in one line that REDIS_URL cannot be reached, without its password, and exits 1', async () => {
		const db = await createTestDatabase()
		try {
			expect(await failedStart({ DATABASE_URL: db.url, REDIS_URL: 'redis://:hunter2pw@127.0.0.1:1' })).toEqual({
				code: 1,
				line: 'Cannot reach Redis at REDIS_URL (redis://127.0.0.1:1): connection refused. Is it running, and is the address right?',
			})
		} finally {
			await db.drop()
		}
	}, 30_000)
})

/** A start that fails: its exit code, and the last line it wrote to stderr (the log goes to stdout). */
async function failedStart(env: Record<string, string>): Promise<{ code: number; line: string }> {
	const proc = Bun.spawn(['bun', 'src/index.ts'], {
		cwd: REPO_ROOT,
		env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', PORT: '0', LOG_LEVEL: 'warn', ...env },
		stdout: 'ignore',
		stderr: 'pipe',
	})
	const [stderr, code] = await Promise.all([new Response(proc.stderr).text(), proc.exited])
	return { code, line: stderr.trim().split('\n').at(-1) ?? '' }
}

describe('the embedded database folder', () => {
	it('is DATA_DIR/pglite, or DATA_DIR itself when that already holds a database', () => {
		const fresh = mkdtempSync(join(tmpdir(), 'sb-layout-'))
		const older = mkdtempSync(join(tmpdir(), 'sb-layout-'))
		writeFileSync(join(older, 'PG_VERSION'), '18\n')
		try {
			expect(pgliteDir(fresh)).toBe(join(fresh, 'pglite'))
			expect(pgliteDir(older)).toBe(older)
		} finally {
			rmSync(fresh, { recursive: true, force: true })
			rmSync(older, { recursive: true, force: true })
		}
	})
})
