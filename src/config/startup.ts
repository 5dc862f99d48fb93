import { closeSync, mkdirSync, openSync, readFileSync, rmSync, statSync, writeFileSync, writeSync } from 'node:fs'
import { join, relative } from 'node:path'
import type { Config } from './types'

/** A start that cannot go on, with a message that names the setting to look at. */
export class StartupError extends Error {
	override name = 'StartupError'
}

/**
 * Fails at once when another process listens on the server's address. Elysia asks Bun for a shared
 * port (SO_REUSEPORT), and two servers on one port would split the requests between them: a
 * second `bun run start` would answer half of them, from another database.
 */
export function assertPortFree({ port, host }: Pick<Config, 'port' | 'host'>): void {
	if (port === 0) return
	try {
		Bun.serve({ port, hostname: host, reusePort: false, fetch: () => new Response(null, { status: 503 }) }).stop(true)
	} catch (err) {
		const { code, message } = err as { code?: string; message: string }
		// Only a taken address is the port's fault (Bun says "Is port … in use?"); a host that cannot be listened on is HOST's.
		const taken = code === 'EADDRINUSE' || /EADDRINUSE|in use/i.test(message)
		if (!taken)
			throw new StartupError(
				`HOST ${host} cannot be listened on (PORT ${port}): set HOST to an address of this machine, such as 0.0.0.0 or 127.0.0.1 (${message})`,
			)
		throw new StartupError(
			`PORT ${port} on ${host} is in use by another process (is Switchboard already running?): stop it, or set another PORT (${message})`,
		)
	}
}

/** The checks a start makes before it opens anything: each fails with a line naming its setting. */
export function assertStartable(config: Config): void {
	assertPortFree(config)
	assertDataDirUsable(config)
	assertMediaFilesUsable(config)
}

/**
 * Holds an embedded database's folder for this process: PGlite takes no lock of its own, and two
 * processes on one folder would each think they own it (and the WhatsApp sessions in it). A lock
 * left by a process that no longer runs is taken over; so is one whose pid now belongs to another
 * process (after a reboot or a container restart pids are handed out again), told apart by the
 * process' start time where the system shows it. Returns the release.
 */
export function lockDataDir(dir: string, shownAs = dir): () => void {
	const file = join(dir, 'switchboard.pid')
	for (let attempt = 0; attempt < 2; attempt++) {
		try {
			const fd = openSync(file, 'wx')
			writeSync(fd, [process.pid, startTime(process.pid)].filter(Boolean).join(' '))
			closeSync(fd)
			return () => rmSync(file, { force: true })
		} catch (err) {
			if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err
			const [pid, started] = readFileSync(file, 'utf8').trim().split(' ')
			const holder = Number(pid)
			if (holder && holder !== process.pid && isRunning(holder) && (!started || startTime(holder) === started))
				throw new StartupError(
					`DATA_DIR ${shownAs} is in use by another Switchboard process (pid ${holder}): stop it first, or give this one another DATA_DIR. If no Switchboard runs on it, delete its lock file ${file}`,
				)
			rmSync(file, { force: true })
		}
	}
	throw new StartupError(`DATA_DIR ${shownAs}: could not take its lock file ${file}`)
}

/** When a process started, in clock ticks since boot (Linux), or null where /proc does not say. */
function startTime(pid: number): string | null {
	try {
		// The command name in parentheses may hold spaces: fields are counted after its closing one.
		const stat = readFileSync(`/proc/${pid}/stat`, 'utf8')
		return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19] ?? null
	} catch {
		return null
	}
}

function isRunning(pid: number): boolean {
	try {
		process.kill(pid, 0)
		return true
	} catch (err) {
		return (err as NodeJS.ErrnoException).code === 'EPERM'
	}
}

/** The start's warning for a secret left at its development default, which anyone can read in the source. */
export const developmentDefaultUsed = (key: string) =>
	`${key} not set: using a development default, which is public (it is in the source); set it before other machines can reach this server`

const dataDirNotAFolder = (dataDir: string, code: string) =>
	`DATA_DIR ${dataDir} is not a folder (${code}): point it at a folder, or at a path that does not exist yet`

/**
 * Fails at once when DATA_DIR is a file while something is kept in it (the embedded database, or
 * media without MEDIA_DIR): named as DATA_DIR, not as the first folder below it that fails.
 */
export function assertDataDirUsable({ dataDir, databaseUrl, media }: Pick<Config, 'dataDir' | 'databaseUrl' | 'media'>): void {
	const holdsMedia = media.store.kind === 'fs' && !relative(dataDir, media.store.dir).startsWith('..')
	if (databaseUrl && !holdsMedia) return
	const stat = statSync(dataDir, { throwIfNoEntry: false })
	if (stat && !stat.isDirectory()) throw new StartupError(dataDirNotAFolder(dataDir, 'ENOTDIR'))
}

/**
 * Fails at once when the media folder cannot be written (every upload and received file would
 * answer 500 while /ready said all is well), or when the runner would trust a media CA file it
 * cannot read (its Worker would crash on it at every restart while the process answered as if it ran).
 */
export function assertMediaFilesUsable({ waMediaCaFile, roles, media }: Pick<Config, 'waMediaCaFile' | 'roles' | 'media'>): void {
	assertMediaDirWritable(media.store, roles)
	if (!waMediaCaFile || !roles.has('runner')) return
	try {
		closeSync(openSync(waMediaCaFile, 'r'))
	} catch (err) {
		throw new StartupError(
			`WA_MEDIA_CA_FILE ${waMediaCaFile} cannot be read (${(err as { code?: string }).code ?? 'error'}): give the path \`bun run stand-in\` printed, as this process sees it`,
		)
	}
}

/**
 * One line that says why the start failed and which setting to look at, for errors whose own
 * message names neither (a library's connection error, a file system error).
 */
export function explainStartupFailure(err: unknown, config: Pick<Config, 'databaseUrl' | 'dataDir'>): string {
	if (err instanceof StartupError) return err.message
	const e = err as { code?: string; message?: string; address?: string; port?: number; path?: string; errno?: number }
	const message = e?.message ?? String(err)
	const database = config.databaseUrl ? `PostgreSQL at DATABASE_URL (${safeUrl(config.databaseUrl)})` : null
	if (database && (e.code === 'ECONNREFUSED' || e.code === 'CONNECT_TIMEOUT' || e.code === 'ETIMEDOUT'))
		return `Cannot reach ${database}: ${e.code === 'ECONNREFUSED' ? 'connection refused' : 'no answer'}. Is it running, and is the address right?`
	if (database && (e.code === 'ENOTFOUND' || e.code === 'EAI_NONAME' || /DNS|getaddrinfo/i.test(message)))
		return `Cannot reach ${database}: its host name does not resolve`
	if (database && e.code === '3D000') return `${message}: create it first (\`createdb\`), or name another database in DATABASE_URL`
	if (database && (e.code === '28P01' || e.code === '28000')) return `${database} refused the login: ${message}`
	if (!config.databaseUrl && (e.code === 'EACCES' || e.code === 'EPERM' || e.code === 'EROFS'))
		return `DATA_DIR ${config.dataDir} cannot be written by this process (${e.code}${e.path ? ` on ${e.path}` : ''}): fix its owner or permissions, or set another DATA_DIR`
	if (!config.databaseUrl && (e.code === 'ENOTDIR' || e.code === 'EEXIST')) return dataDirNotAFolder(config.dataDir, e.code)
	if (!config.databaseUrl && /PGlite/i.test(message))
		return `The embedded database in DATA_DIR ${config.dataDir} could not be opened (${message.slice(0, 200)}): check that this process may write there, and that no other process uses it`
	return `Switchboard could not start: ${message.slice(0, 500)}${e.code ? ` (${e.code})` : ''}`
}

/** A URL without its password, to name in a message. */
export function safeUrl(url: string): string {
	try {
		const u = new URL(url)
		u.password = ''
		return u.toString()
	} catch {
		return 'unparsable'
	}
}

/** The media folder of the roles that store files (api: uploads; runner: received files) takes a file. */
function assertMediaDirWritable(store: Config['media']['store'], roles: Config['roles']): void {
	if (store.kind !== 'fs' || !(roles.has('api') || roles.has('runner'))) return
	const probe = join(store.dir, `.write-check-${process.pid}`)
	try {
		mkdirSync(store.dir, { recursive: true })
		writeFileSync(probe, '')
		rmSync(probe, { force: true })
	} catch (err) {
		const e = err as { code?: string; path?: string }
		throw new StartupError(
			`The media folder ${store.dir} cannot be written by this process (${e.code ?? 'error'}${e.path ? ` on ${e.path}` : ''}): fix its owner or permissions, or set MEDIA_DIR (by default <DATA_DIR>/media)`,
		)
	}
}
