import { describe, expect, it } from 'bun:test'
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { ConfigError, loadConfig } from '../../src/config'
import { Env } from '../../src/config/env'
import { assertPortFree, lockDataDir } from '../../src/config/startup'

const KEY = Buffer.alloc(32, 1).toString('base64')

/** What loadConfig refuses `env` with, or null when it takes it. */
function problem(env: Record<string, string>): string | null {
	try {
		loadConfig(env)
	} catch (err) {
		return (err as Error).message
	}
	return null
}
const SECRET = 'a-production-secret-of-at-least-32-chars'

describe('config', () => {
	it('starts with development defaults when nothing is set', () => {
		const config = loadConfig({})
		expect(config.port).toBe(3000)
		expect(config.databaseUrl).toBeUndefined()
		expect(config.redisUrl).toBeUndefined()
		// Every role, embedded or not: a webhook is sent without ROLES being set.
		expect([...config.roles].sort()).toEqual(['api', 'consumer', 'runner', 'webhooks'])
		expect([...loadConfig({ DATABASE_URL: 'postgres://u@h/db' }).roles].sort()).toEqual(['api', 'consumer', 'runner', 'webhooks'])
		expect(config.defaultsUsed.sort()).toEqual(['ENCRYPTION_KEY', 'JWT_SECRET'])
		expect(config.encryptionKey.length).toBe(32)
	})

	it('parses every kind of value from environment strings', () => {
		const config = loadConfig({
			PORT: '8080',
			METRICS_ENABLED: 'true',
			ROLES: 'runner,consumer',
			DATABASE_URL: 'postgres://u@h/db',
			REDIS_URL: 'redis://h:6379',
			PUBLIC_URL: 'https://sb.example.com/',
			JWT_SECRET: SECRET,
			ENCRYPTION_KEY: KEY,
		})
		expect(config.port).toBe(8080)
		expect(config.metricsEnabled).toBe(true)
		expect([...config.roles]).toEqual(['runner', 'consumer'])
		expect(config.publicUrl).toBe('https://sb.example.com')
		expect(config.defaultsUsed).toEqual([])
	})

	it('links mails to http://localhost on the server’s own port when PUBLIC_URL is unset', () => {
		expect(loadConfig({ PORT: '8080' }).publicUrl).toBe('http://localhost:8080')
		expect(loadConfig({}).publicUrl).toBe('http://localhost:3000')
		// Any free port: which one is not known yet, so the default port stands in.
		expect(loadConfig({ PORT: '0' }).publicUrl).toBe('http://localhost:3000')
	})

	it('says what a setting takes when a value does not fit: its choices, or the kind of number', () => {
		expect(problem({ NODE_ENV: 'prod' })).toContain('NODE_ENV: must be one of: development, production, test (got "prod")')
		expect(problem({ LOG_LEVEL: 'verbose' })).toContain('LOG_LEVEL: must be one of: fatal, error, warn, info, debug, trace, silent')
		expect(problem({ MEDIA_MAX_BYTES: '10MB' })).toContain('MEDIA_MAX_BYTES: must be a whole number of at least 1024 (got "10MB")')
		expect(problem({ METRICS_ENABLED: 'maybe' })).toContain('METRICS_ENABLED: must be true or false')
		// A timer takes 2³¹ − 1 ms at most and fires at once past it: a limit's window would end at once,
		// the media collector would run every millisecond.
		expect(problem({ RATE_LIMIT_WINDOW_SECONDS: '2200000' })).toContain(
			'RATE_LIMIT_WINDOW_SECONDS: must be a whole number from 1 to 2147483 (got 2200000)',
		)
		expect(problem({ MEDIA_COLLECT_INTERVAL_SECONDS: '2200000' })).toContain(
			'MEDIA_COLLECT_INTERVAL_SECONDS: must be a whole number from 1 to 2147483',
		)
		expect(problem({ WEBHOOK_POLL_MS: '3000000000' })).toContain('WEBHOOK_POLL_MS: must be a whole number from 10 to 2147483647')
	})

	it('describes every setting a value can get wrong in words, never in the schema validator’s', () => {
		// A value no setting takes: text for a number or a choice, `{}` for a pattern, one character for a minimum length.
		const wrong = (schema: { type?: string; pattern?: string; minLength?: number }) =>
			schema.type === 'string' && !schema.pattern ? (schema.minLength && schema.minLength > 1 ? 'x' : null) : '{}'
		const worded: string[] = []
		for (const [key, schema] of Object.entries(Env.properties)) {
			const value = wrong(schema as { type?: string })
			if (value === null) continue
			try {
				loadConfig({ [key]: value })
			} catch (err) {
				worded.push((err as Error).message.split('\n')[1]!.trim())
			}
		}
		expect(worded.length).toBeGreaterThan(30)
		expect(worded.filter((line) => /Expected|must match/.test(line))).toEqual([])
		expect(worded).toContain('METRICS_TOKEN: must be at least 16 characters (got "[redacted]")')
	})

	it('warns of a variable that looks like a misspelt setting, and of none of the shell’s own', () => {
		expect(loadConfig({ REDIS_ULR: 'redis://x', DATABSE_URL: 'postgres://x' }).warnings).toEqual([
			'REDIS_ULR is not a setting, and is ignored: did you mean REDIS_URL? (REDIS_URL keeps its default)',
			'DATABSE_URL is not a setting, and is ignored: did you mean DATABASE_URL? (DATABASE_URL keeps its default)',
		])
		// A unit left out, and a misspelling beside the right name, which is the one read.
		expect(loadConfig({ SHUTDOWN_TIMEOUT: '5', JWT_SECRET: 'x'.repeat(32), JWT_SECRETS: 'abc' }).warnings).toEqual([
			'SHUTDOWN_TIMEOUT is not a setting, and is ignored: did you mean SHUTDOWN_TIMEOUT_MS? (SHUTDOWN_TIMEOUT_MS keeps its default)',
			'JWT_SECRETS is not a setting, and is ignored: did you mean JWT_SECRET? (JWT_SECRET is set, and that value is used)',
		])
		const shell = { HOME: '/root', HOSTNAME: 'box', PATH: '/bin', SHELL: '/bin/sh', LANG: 'C', NODE_OPTIONS: '', BUN_INSTALL: '/b', OLDPWD: '/' }
		expect(loadConfig(shell).warnings).toEqual([])
	})

	it('refuses to leave a role to other processes when there is no Redis for them to talk through', () => {
		expect(() => loadConfig({ ROLES: 'api' })).toThrow('ROLES=api leaves out runner, consumer, but without REDIS_URL')
		expect(() => loadConfig({ ROLES: 'runner,consumer', DATABASE_URL: 'postgres://u@h/db' })).toThrow('leaves out api')
		expect([...loadConfig({ ROLES: 'api', REDIS_URL: 'redis://h:6379', DATABASE_URL: 'postgres://u@h/db' }).roles]).toEqual(['api'])
		// Webhooks may be left out: nothing waits for them.
		expect([...loadConfig({ ROLES: 'api,runner,consumer' }).roles]).toEqual(['api', 'runner', 'consumer'])
	})

	it('refuses to leave a role to other processes when each would keep its own embedded database', () => {
		// With Redis the processes hear each other, but a runner would look for sessions in its own PGlite.
		expect(() => loadConfig({ ROLES: 'api', REDIS_URL: 'redis://h:6379' })).toThrow(
			'ROLES=api leaves out runner, consumer, but without DATABASE_URL each process keeps its own embedded database',
		)
		expect(() => loadConfig({ ROLES: 'webhooks', REDIS_URL: 'redis://h:6379' })).toThrow('set DATABASE_URL')
		// One process with every role may use Redis beside its embedded database.
		expect([...loadConfig({ ROLES: 'api,runner,consumer', REDIS_URL: 'redis://h:6379' }).roles]).toEqual(['api', 'runner', 'consumer'])
	})

	it('names the setting of a URL that does not parse, and never shows the URL', () => {
		expect(problem({ WA_WEBSOCKET_URL: 'ws://' })).toContain('WA_WEBSOCKET_URL: must be a ws:// or wss:// URL, and this one is not a well-formed URL')
		expect(problem({ DATABASE_URL: 'postgres://u:hunter2@[bad/db' })).toContain(
			'DATABASE_URL: must be a postgres:// URL, and this one is not a well-formed URL',
		)
		expect(problem({ DATABASE_URL: 'postgres://u:hunter2@[bad/db' })).not.toContain('hunter2')
		expect(problem({ REDIS_URL: 'redis://:99999999' })).toContain('REDIS_URL: must be a redis://')
		expect(problem({ REDIS_URL: 'redis+cluster://a:6379,b:70000' })).toContain('has a seed node whose port is not from 1 to 65535')
		expect(problem({ REDIS_URL: 'redis+cluster://a:6379,' })).toContain('has a seed node that is not host:port')
		expect(problem({ REDIS_URL: 'redis+cluster://u:p%zz@a:6379' })).toContain('has a user or password with a malformed %-escape')
		expect(problem({ SMTP_URL: 'smtp://h:999999' })).toContain('SMTP_URL: must be an smtp:// or smtps:// URL, and this one is not a well-formed URL')
		expect(problem({ SMTP_URL: 'smtp://' })).toContain('SMTP_URL: must be an smtp:// or smtps:// URL, and this one names no host')
		// A link in a mail needs a host to point at.
		expect(problem({ PUBLIC_URL: 'http://' })).toContain('PUBLIC_URL: must be an http(s):// URL, and this one is not a well-formed URL')
		expect(problem({ MEDIA_S3_ENDPOINT: 'https://' })).toContain('MEDIA_S3_ENDPOINT: must be an http(s):// URL')
		// Several problems are listed together.
		expect(problem({ PUBLIC_URL: 'http://', WA_WEBSOCKET_URL: 'ws://', PORT: 'x' })?.split('\n')).toHaveLength(4)
		// What the libraries take still passes: several PostgreSQL hosts, a Unix socket's empty host, cluster seeds.
		for (const env of <Record<string, string>[]>[
			{ DATABASE_URL: 'postgres://u:p@h1:5432,h2:5433/db' },
			{ DATABASE_URL: 'postgresql:///db' },
			{ REDIS_URL: 'rediss+cluster://user:p%40ss@a:7000,b:7001/' },
			{ REDIS_URL: 'redis+cluster://[::1]:7000,[::1]:7001' },
			{ REDIS_URL: 'redis://:secret@h:6380/2' },
			{ SMTP_URL: 'smtps://user:pass@mail.example.com:465' },
			{ PUBLIC_URL: 'https://sb.example.com/base/' },
		])
			expect(problem(env)).toBeNull()
	})

	it('answers a request within REQUEST_TIMEOUT_MS, which must leave room for a runner query to time out first', () => {
		expect(loadConfig({}).requestTimeoutMs).toBe(20_000)
		expect(loadConfig({ REQUEST_TIMEOUT_MS: '60000', QUERY_TIMEOUT_MS: '50000' }).requestTimeoutMs).toBe(60_000)
		expect(() => loadConfig({ QUERY_TIMEOUT_MS: '30000' })).toThrow('QUERY_TIMEOUT_MS (30000) must be less than REQUEST_TIMEOUT_MS (20000)')
		expect(() => loadConfig({ REQUEST_TIMEOUT_MS: '500' })).toThrow('REQUEST_TIMEOUT_MS: must be a whole number from 1000 to 240000 (got 500)')
	})

	it('says sessions are lost after two lease TTLs without a runner by default, never sooner than one TTL, or never (0)', () => {
		expect(loadConfig({}).ownership.lostAfterMs).toBe(20_000)
		expect(loadConfig({ RUNNER_LEASE_TTL_MS: '3000' }).ownership.lostAfterMs).toBe(6_000)
		expect(loadConfig({ RUNNER_LOST_AFTER_MS: '0' }).ownership.lostAfterMs).toBe(0)
		expect(loadConfig({ RUNNER_LOST_AFTER_MS: '60000' }).ownership.lostAfterMs).toBe(60_000)
		expect(() => loadConfig({ RUNNER_LOST_AFTER_MS: '5000' })).toThrow('RUNNER_LOST_AFTER_MS must be 0 (off) or at least RUNNER_LEASE_TTL_MS')
		expect(() => loadConfig({ RUNNER_LOST_AFTER_MS: '-1' })).toThrow('RUNNER_LOST_AFTER_MS')
	})

	it("fetches received files from WhatsApp's hosts only, and a stand-in's when WA_WEBSOCKET_URL names one", () => {
		expect(loadConfig({}).waMediaHosts).toEqual(['whatsapp.net'])
		expect(loadConfig({ WA_WEBSOCKET_URL: 'ws://127.0.0.1:7480/ws/chat' }).waMediaHosts).toEqual(['whatsapp.net', '127.0.0.1'])
		expect(loadConfig({ WA_MEDIA_HOSTS: 'cdn.example,whatsapp.net' }).waMediaHosts).toEqual(['cdn.example', 'whatsapp.net'])
		expect(() => loadConfig({ WA_MEDIA_HOSTS: 'https://cdn.example/' })).toThrow(ConfigError)
	})

	it('reads the webhook retry schedule as durations, the Standard Webhooks one by default', () => {
		expect(loadConfig({}).webhooks.retryScheduleMs).toEqual([5_000, 300_000, 1_800_000, 7_200_000, 18_000_000, 36_000_000, 36_000_000])
		expect(loadConfig({ WEBHOOK_RETRY_SCHEDULE: '500ms,5s,2m,1h' }).webhooks.retryScheduleMs).toEqual([500, 5_000, 120_000, 3_600_000])
	})

	it('reads a redis+cluster:// URL as a cluster whose appends wait for one replica by default', () => {
		expect(loadConfig({ REDIS_URL: 'redis://h:6379' }).redisWait).toEqual({ replicas: 0, timeoutMs: 1_000 })
		const cluster = loadConfig({
			REDIS_URL: 'rediss+cluster://u:p@10.0.0.1:6379,10.0.0.2:6379',
			REDIS_CLUSTER_NAT_MAP: '10.0.0.1:6379=203.0.113.1:7001,10.0.0.2:6379=203.0.113.1:7002',
		})
		expect(cluster.redisWait).toEqual({ replicas: 1, timeoutMs: 1_000 })
		expect(cluster.redisNatMap).toEqual({
			'10.0.0.1:6379': { host: '203.0.113.1', port: 7001 },
			'10.0.0.2:6379': { host: '203.0.113.1', port: 7002 },
		})
		expect(loadConfig({ REDIS_URL: 'redis+cluster://h:6379', REDIS_WAIT_REPLICAS: '0' }).redisWait.replicas).toBe(0)
		expect(() => loadConfig({ REDIS_URL: 'redis://h:6379', REDIS_CLUSTER_NAT_MAP: 'a:1=b:2' })).toThrow(
			'REDIS_CLUSTER_NAT_MAP needs a redis+cluster://',
		)
	})

	it('treats empty values as unset', () => {
		expect(loadConfig({ PORT: '', DATABASE_URL: ' ' }).port).toBe(3000)
	})

	it.each([
		['PORT', 'http', 'PORT: must be an integer'],
		['PORT', '70000', 'PORT: must be an integer'],
		['DATABASE_URL', 'mysql://x', 'DATABASE_URL: must be a postgres:// URL'],
		['REDIS_URL', 'localhost:6379', 'REDIS_URL: must be a redis://'],
		['REDIS_URL', 'redis-cluster://h:6379', 'REDIS_URL: must be a redis://, rediss://, redis+cluster://'],
		['REDIS_CLUSTER_NAT_MAP', '10.0.0.1=203.0.113.1', 'REDIS_CLUSTER_NAT_MAP: must be announced-host:port=reachable-host:port'],
		['ROLES', 'api,web', 'ROLES: must be a comma-separated list'],
		['WEBHOOK_RETRY_SCHEDULE', '5s,soon', 'WEBHOOK_RETRY_SCHEDULE: must be comma-separated durations'],
		['ENCRYPTION_KEY', 'short', 'ENCRYPTION_KEY: must be 32 bytes in base64'],
		['JWT_SECRET', 'short', 'JWT_SECRET: must be at least 32 characters'],
		['METRICS_ENABLED', 'yes', 'METRICS_ENABLED: must be true or false'],
		['LOG_LEVEL', 'loud', 'LOG_LEVEL'],
	])('rejects %s=%s with a message naming the setting', (key, value, message) => {
		expect(() => loadConfig({ [key]: value })).toThrow(message)
	})

	it('never echoes a secret value in its error', () => {
		try {
			loadConfig({ JWT_SECRET: 'hunter2' })
			throw new Error('expected a ConfigError')
		} catch (err) {
			expect(err).toBeInstanceOf(ConfigError)
			expect(String(err)).not.toContain('hunter2')
		}
	})

	it.each(['JWT_SECRET', 'ENCRYPTION_KEY'])('refuses to start in production without %s', (missing) => {
		const env: Record<string, string> = { NODE_ENV: 'production', JWT_SECRET: SECRET, ENCRYPTION_KEY: KEY }
		delete env[missing]
		expect(() => loadConfig(env)).toThrow(`${missing} must be set when NODE_ENV=production`)
	})

	it('starts in production when the secrets are given', () => {
		const config = loadConfig({ NODE_ENV: 'production', JWT_SECRET: SECRET, ENCRYPTION_KEY: KEY })
		expect(config.defaultsUsed).toEqual([])
		expect(config.cookieSecure).toBe(true)
	})

	it('sends account mail by SMTP when SMTP_URL is set; otherwise into the log outside production, and nowhere in production', () => {
		const production = { NODE_ENV: 'production', JWT_SECRET: SECRET, ENCRYPTION_KEY: KEY }
		expect(loadConfig({ NODE_ENV: 'development', SMTP_URL: 'smtp://mail.example.com' }).mailDelivery).toBe('smtp')
		expect(loadConfig({ ...production, SMTP_URL: 'smtps://mail.example.com' }).mailDelivery).toBe('smtp')
		expect(loadConfig({ NODE_ENV: 'development' }).mailDelivery).toBe('log')
		expect(loadConfig({ NODE_ENV: 'test' }).mailDelivery).toBe('log')
		expect(loadConfig(production).mailDelivery).toBe('none')
	})
})

describe('the start’s check of the address', () => {
	it('names HOST, not PORT, when the host cannot be listened on', () => {
		const refused = (() => {
			try {
				assertPortFree({ port: 4398, host: 'not.a.real.host' })
			} catch (err) {
				return (err as Error).message
			}
			return null
		})()
		expect(refused).toStartWith('HOST not.a.real.host cannot be listened on (PORT 4398): set HOST to an address of this machine')
	})
})

describe('the lock on an embedded database’s folder', () => {
	const refusal = (dir: string) => {
		try {
			lockDataDir(dir)()
		} catch (err) {
			return (err as Error).message
		}
		return null
	}

	it('is refused while the process named in it runs, and says which file to delete if none does', () => {
		const dir = mkdtempSync(join(tmpdir(), 'sb-lock-'))
		const holder = Bun.spawn(['sleep', '30'])
		try {
			const file = join(dir, 'switchboard.pid')
			const release = lockDataDir(dir)
			const [pid, started] = readFileSync(file, 'utf8').split(' ')
			expect(Number(pid)).toBe(process.pid)
			release()
			// The sleep's own start time: it holds the folder.
			const stat = readFileSync(`/proc/${holder.pid}/stat`, 'utf8')
			writeFileSync(file, `${holder.pid} ${stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19]}`)
			expect(refusal(dir)).toBe(
				`DATA_DIR ${dir} is in use by another Switchboard process (pid ${holder.pid}): stop it first, or give this one another DATA_DIR. If no Switchboard runs on it, delete its lock file ${file}`,
			)
			// A file of an earlier version holds the pid alone: a running pid still holds the folder.
			writeFileSync(file, String(holder.pid))
			expect(refusal(dir)).toContain('is in use by another Switchboard process')
			expect(started).toMatch(/^\d+$/)
		} finally {
			holder.kill()
			rmSync(dir, { recursive: true, force: true })
		}
	})

	it('is taken over when its pid now belongs to a process started later (a reboot, a container restart)', () => {
		const dir = mkdtempSync(join(tmpdir(), 'sb-lock-'))
		const reused = Bun.spawn(['sleep', '30'])
		try {
			const file = join(dir, 'switchboard.pid')
			// The pid runs, but started at another time than the process that wrote the file.
			writeFileSync(file, `${reused.pid} 1`)
			expect(refusal(dir)).toBeNull()
			expect(existsSync(file)).toBe(false)
		} finally {
			reused.kill()
			rmSync(dir, { recursive: true, force: true })
		}
	})
})
