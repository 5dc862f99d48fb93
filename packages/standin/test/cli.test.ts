import { afterAll, describe, expect, it } from 'bun:test'
import { existsSync, mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'

const CLI = join(import.meta.dir, '..', 'src', 'cli.ts')
const work = mkdtempSync(join(tmpdir(), 'standin-cli-'))

afterAll(() => rmSync(work, { recursive: true, force: true }))

/** The environment without the stand-in's own settings, so the defaults apply. */
const { STANDIN_PORT: _port, STANDIN_HOST: _host, STANDIN_STATE: _state, ...env } = process.env
const run = (...args: string[]) => Bun.spawnSync(['bun', CLI, ...args], { cwd: work, env })

describe('bun run stand-in', () => {
	it('--help prints the usage (flags, the two settings, the control routes) and exits 0', () => {
		const { exitCode, stdout, stderr } = run('--help')
		const usage = stdout.toString()
		expect(exitCode).toBe(0)
		expect(stderr.toString()).toBe('')
		for (const word of ['--port', '--host', '--state', 'WA_WEBSOCKET_URL', 'WA_ROOT_PUBLIC_KEY', 'POST /control/scan', 'GET  /control/sent']) {
			expect(usage).toContain(word)
		}
	})

	it('--help lists every control route the stand-in answers', async () => {
		const usage = run('--help').stdout.toString().replace(/ +/g, ' ')
		const sources = await Array.fromAsync(new Bun.Glob('*.ts').scan({ cwd: join(import.meta.dir, '..', 'src'), absolute: true }))
		const routes = new Set<string>()
		for (const file of sources)
			for (const [, route] of (await Bun.file(file).text()).matchAll(/case '((?:GET|POST) \/control[^']*)'/g)) routes.add(route!)
		expect(routes.size).toBeGreaterThan(15)
		expect([...routes].filter((route) => ![' ', '\n', '?'].some((next) => usage.includes(`${route}${next}`)))).toEqual([])
	})

	it('an unknown flag prints the usage on stderr and exits 2', () => {
		const { exitCode, stdout, stderr } = run('--nope')
		expect(exitCode).toBe(2)
		expect(stdout.toString()).toBe('')
		expect(stderr.toString()).toStartWith("stand-in: Unknown option '--nope'")
		expect(stderr.toString()).toContain('Usage: bun run stand-in')
	})

	it('keeps its state in ./.standin/state.json by default, outside the embedded database in ./data', async () => {
		const child = Bun.spawn(['bun', CLI, '--port', '0'], { cwd: work, env, stdout: 'pipe' })
		try {
			const reader = child.stdout.getReader()
			let banner = ''
			while (!banner.includes('WA_ROOT_PUBLIC_KEY=')) {
				const { value, done } = await reader.read()
				if (done) break
				banner += new TextDecoder().decode(value)
			}
			expect(banner).toMatch(/WA_WEBSOCKET_URL=ws:\/\/127\.0\.0\.1:\d+\/ws\/chat/)
			expect(banner).toContain('(state in ./.standin/state.json)')
			expect(existsSync(join(work, '.standin', 'state.json'))).toBe(true)
			expect(existsSync(join(work, 'data'))).toBe(false)
		} finally {
			child.kill()
			await child.exited
		}
	})
})
