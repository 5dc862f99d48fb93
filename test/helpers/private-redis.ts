import { mkdtempSync, rmSync } from 'node:fs'
import { createServer } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { Subprocess } from 'bun'
import { waitForOutput } from './process'

/** A free TCP port on 127.0.0.1. */
export async function freePort(): Promise<number> {
	const server = createServer()
	await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
	const { port } = server.address() as { port: number }
	await new Promise<void>((resolve) => server.close(() => resolve()))
	return port
}

/**
 * A redis-server of the test's own, which it may stop and start without touching the shared one.
 * With `persist`, data survives a restart (append-only file, fsync on every write); without, a
 * restart comes back empty, as a Redis without persistence does.
 */
export async function startPrivateRedis({ persist }: { persist: boolean }) {
	const port = await freePort()
	const dir = mkdtempSync(join(tmpdir(), 'sb-redis-'))
	let proc: Subprocess<'ignore', 'pipe', 'pipe'> | null = null
	const args = [
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
		proc = Bun.spawn(['redis-server', ...args], { stdout: 'pipe', stderr: 'pipe' })
		await waitForOutput(proc.stdout, /Ready to accept connections/)
	}
	await up()
	return {
		url: `redis://127.0.0.1:${port}`,
		/** Shuts the server down (SIGTERM: it finishes its append-only file) and waits for the exit. */
		async stop() {
			proc?.kill('SIGTERM')
			await proc?.exited
			proc = null
		},
		start: up,
		async close() {
			if (proc) {
				proc.kill('SIGKILL')
				await proc.exited
			}
			rmSync(dir, { recursive: true, force: true })
		},
	}
}
