import { mkdtempSync, rmSync } from 'node:fs'
import { createServer } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { Subprocess } from 'bun'
import { waitForOutput } from './process'

/** Listens on `port` of 127.0.0.1 (0: any free one) and closes again; resolves with the port, or null when it is taken. */
async function tryListen(port: number): Promise<number | null> {
	const server = createServer()
	const listening = await new Promise<boolean>((resolve) => {
		server.once('error', () => resolve(false))
		server.listen(port, '127.0.0.1', () => resolve(true))
	})
	if (!listening) return null
	const { port: bound } = server.address() as { port: number }
	await new Promise<void>((resolve) => server.close(() => resolve()))
	return bound
}

/** A free TCP port on 127.0.0.1. Free when asked: another process may take it before the caller listens. */
export async function freePort(): Promise<number> {
	return (await tryListen(0))!
}

/** Whether `port` on 127.0.0.1 is free now. */
export async function isFree(port: number): Promise<boolean> {
	return (await tryListen(port)) !== null
}

/**
 * Starts a server on a port `pick` chooses. A port free a moment ago can be taken before the
 * server listens (an outgoing connection's local port, say): `start` then fails at once, and
 * another port is tried, up to five in all.
 */
export async function onFreePort<T>(
	start: (port: number) => Promise<T>,
	pick: () => Promise<number> = freePort,
): Promise<{ port: number; started: T }> {
	for (let tries = 1; ; tries++) {
		const port = await pick()
		try {
			return { port, started: await start(port) }
		} catch (err) {
			if (tries === 5) throw err
		}
	}
}

/**
 * A redis-server of the test's own, which it may stop and start without touching the shared one.
 * With `persist`, data survives a restart (append-only file, fsync on every write); without, a
 * restart comes back empty, as a Redis without persistence does.
 */
export async function startPrivateRedis({ persist }: { persist: boolean }) {
	let port = 0
	const dir = mkdtempSync(join(tmpdir(), 'sb-redis-'))
	let proc: Subprocess<'ignore', 'pipe', 'pipe'> | null = null
	const args = () => [
		'--port',
		String(port),
		'--bind',
		'127.0.0.1',
		'--save',
		'',
		'--dir',
		dir,
		'--appendonly',
		persist ? 'yes' : 'no',
		'--appendfsync',
		'always',
	]
	const up = async () => {
		proc = Bun.spawn(['redis-server', ...args()], { stdout: 'pipe', stderr: 'pipe' })
		await waitForOutput(proc.stdout, /Ready to accept connections/)
	}
	// `up` starts on `port` again after a stop: the port the first start found is kept.
	await onFreePort((free) => {
		port = free
		return up()
	})
	return {
		url: `redis://127.0.0.1:${port}`,
		/** Shuts the server down (SIGTERM: it finishes its append-only file) and waits for the exit. */
		async stop() {
			proc?.kill('SIGTERM')
			await proc?.exited
			proc = null
		},
		start: up,
		/** Stops the server without closing anything (SIGSTOP): connections stay open and nothing answers, as on a frozen host. */
		freeze() {
			proc?.kill('SIGSTOP')
		},
		/** Lets a frozen server go on (SIGCONT). */
		thaw() {
			proc?.kill('SIGCONT')
		},
		async close() {
			proc?.kill('SIGCONT')
			if (proc) {
				proc.kill('SIGKILL')
				await proc.exited
			}
			rmSync(dir, { recursive: true, force: true })
		},
	}
}
