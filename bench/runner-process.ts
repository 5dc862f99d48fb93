import type { Subprocess } from 'bun'
import type { TestApp } from '../test/helpers/app'
import { REDIS_TEST_URL } from '../test/helpers/redis'
import type { BenchResult } from './run'

const MB = 1024 * 1024

export interface RunnerSample {
	rss: number
	heapUsed: number
}

export interface RunnerChild {
	proc: Subprocess
	/** RSS and heap after full collections: the median of three. */
	measure(): Promise<RunnerSample>
	/** The process's CPU time so far (µs). */
	cpu(): Promise<{ user: number; system: number }>
	/** Asks it to stop (which writes its profile), and kills it when it has not after `timeoutMs`. */
	stop(timeoutMs?: number): Promise<void>
}

/** The settings of a runner working for `app`'s database and Redis prefix against the stand-in at `standIn`. */
export function runnerEnv(
	app: TestApp,
	standIn: { wsUrl: string; rootPublicKey: string },
	settings: Record<string, string> = {},
): Record<string, string | undefined> {
	return {
		...process.env,
		NODE_ENV: 'test',
		// Baileys logs the 515 that ends every pairing as an error.
		LOG_LEVEL: 'fatal',
		DATABASE_URL: app.database.url,
		REDIS_URL: REDIS_TEST_URL,
		REDIS_PREFIX: app.redisPrefix,
		COMMAND_PARTITIONS: String(app.config.events.commandPartitions),
		WA_WEBSOCKET_URL: standIn.wsUrl,
		WA_ROOT_PUBLIC_KEY: standIn.rootPublicKey,
		...settings,
	}
}

export interface SpawnRunnerOptions {
	/** Where its output goes (inherited when absent). */
	logFile?: string
	/** A folder for a CPU profile, written when the process stops on its own. */
	profileDir?: string
	/** `--cpu-prof-md` (a summary to read) rather than `--cpu-prof` (for a profiler's viewer). */
	markdownProfile?: boolean
}

/** bench/memory-runner.ts (the runner role alone) in a process of its own; resolves once it started. */
export async function spawnRunner(env: Record<string, string | undefined>, options: SpawnRunnerOptions = {}): Promise<RunnerChild> {
	const { logFile, profileDir, markdownProfile } = options
	const messages: unknown[] = []
	const waiters = new Set<() => void>()
	const profile = profileDir ? [markdownProfile ? '--cpu-prof-md' : '--cpu-prof', `--cpu-prof-dir=${profileDir}`] : []
	const proc = Bun.spawn(['bun', ...profile, new URL('./memory-runner.ts', import.meta.url).pathname], {
		env,
		stdout: logFile ? Bun.file(logFile) : 'inherit',
		stderr: logFile ? Bun.file(`${logFile}.err`) : 'inherit',
		ipc(message) {
			messages.push(message)
			for (const w of [...waiters]) w()
		},
	})
	const next = () =>
		new Promise<unknown>((resolve, reject) => {
			const take = () => {
				if (!messages.length) return
				waiters.delete(take)
				resolve(messages.shift())
			}
			waiters.add(take)
			take()
			void proc.exited.then(() => reject(new Error(`the runner exited${logFile ? `; see ${logFile}` : ''}`)))
		})
	if ((await next()) !== 'ready') throw new Error('the runner process did not start')
	return {
		proc,
		async measure() {
			const samples: RunnerSample[] = []
			for (let i = 0; i < 3; i++) {
				proc.send('measure')
				samples.push((await next()) as RunnerSample)
			}
			return samples.sort((a, b) => a.rss - b.rss)[1]!
		},
		async cpu() {
			proc.send('cpu')
			return (await next()) as { user: number; system: number }
		},
		async stop(timeoutMs = 15_000) {
			if (proc.exitCode === null && !proc.killed) proc.send('stop')
			await Promise.race([proc.exited, Bun.sleep(timeoutMs)])
			proc.kill('SIGKILL')
			await proc.exited
		},
	}
}

/** The RSS figures of a measurement: the runner's RSS beside the one with no session, and the growth per session beside the target. */
export function rssRows(prefix: string, label: string, sessions: number, now: RunnerSample, base: RunnerSample, targetMb: number): BenchResult[] {
	return [
		{
			name: `${prefix}: runner RSS with ${label}`,
			value: now.rss / MB,
			unit: 'MB',
			baseline: base.rss / MB,
			baselineName: '0 sessions',
			higherIsBetter: false,
		},
		{
			name: `${prefix}: RSS growth per session (${label})`,
			value: (now.rss - base.rss) / MB / sessions,
			unit: 'MB/session',
			baseline: targetMb,
			baselineName: 'target',
			higherIsBetter: false,
		},
	]
}
