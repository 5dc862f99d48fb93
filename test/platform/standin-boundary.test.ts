import { describe, expect, it } from 'bun:test'
import { readFileSync } from 'node:fs'
import { dirname, join, resolve, sep } from 'node:path'
import { REPO_ROOT } from '../helpers/process'

// The WhatsApp stand-in is a dev dependency: the production install and image leave it out, so
// server code that reached it would fail there, not in the tests, where it is always installed.
const STANDIN = '@switchboard/standin'
const PACKAGES_DIR = join(REPO_ROOT, 'packages')

// The quoted module specifier after `from`, `import`, `import(`, `require(`, `new URL(` or `Worker(`:
// static, type-only and dynamic imports, re-exports, and the paths Workers are started from.
const SPECIFIER = /(?:\bfrom|\bimport|\bimport\s*\(|\brequire\s*\(|\bnew\s+URL\s*\(|\bWorker\s*\()\s*(['"`])([^'"`\n]+)\1/g

function specifiers(code: string): string[] {
	return [...code.matchAll(SPECIFIER)].map((match) => match[2]!)
}

/** Whether `specifier`, written in `file`, names the stand-in package or a path into packages/. */
function reachesPackages(file: string, specifier: string): boolean {
	if (specifier === STANDIN || specifier.startsWith(`${STANDIN}/`)) return true
	if (!specifier.startsWith('.') && !specifier.startsWith('/')) return false
	const target = resolve(dirname(file), specifier)
	return target === PACKAGES_DIR || target.startsWith(PACKAGES_DIR + sep)
}

describe('the stand-in stays out of production', () => {
	it('finds module specifiers in every form an import takes', () => {
		const code = `
			import type { StandIn } from '@switchboard/standin'
			import {
				startStandIn,
			} from "@switchboard/standin/src/server"
			import '../../packages/standin/src/cli.ts'
			export * from '../../packages/standin/src'
			const later = await import('@switchboard/standin')
			const old = require('../../packages/standin')
			new Worker(new URL('../../packages/standin/src/cli.ts', import.meta.url))
			import { Elysia } from 'elysia'
			import { config } from './config'
			import { helper } from './packages/helper'
		`
		const file = join(REPO_ROOT, 'src', 'roles', 'example.ts')
		expect(specifiers(code).map((specifier) => reachesPackages(file, specifier))).toEqual([
			true,
			true,
			true,
			true,
			true,
			true,
			true,
			false,
			false,
			false,
		])
	})

	it('no file under src/ imports the stand-in package or a path into packages/', () => {
		const files = [...new Bun.Glob('**/*.{ts,tsx,js,mjs,cjs}').scanSync({ cwd: join(REPO_ROOT, 'src'), absolute: true })]
		expect(files.length).toBeGreaterThan(0)
		const offenders = files.flatMap((file) =>
			specifiers(readFileSync(file, 'utf8'))
				.filter((specifier) => reachesPackages(file, specifier))
				.map((specifier) => `${file.slice(REPO_ROOT.length)}: ${specifier}`),
		)
		expect(offenders).toEqual([])
	})

	it("the root package.json's production dependencies leave the stand-in out, and take libsignal only as Baileys does", () => {
		const manifest = JSON.parse(readFileSync(join(REPO_ROOT, 'package.json'), 'utf8')) as {
			dependencies?: Record<string, string>
			devDependencies?: Record<string, string>
		}
		expect(Object.keys(manifest.dependencies ?? {})).not.toContain(STANDIN)
		expect(manifest.devDependencies?.[STANDIN]).toBe('workspace:*')
		// The server checks signatures with libsignal (whatsapp/signatures.ts): the very copy Baileys
		// runs on, never a second one.
		const installed = (name: string) =>
			(JSON.parse(readFileSync(join(REPO_ROOT, 'node_modules', name, 'package.json'), 'utf8')) as { version: string }).version
		const baileysLibsignal = JSON.parse(readFileSync(join(REPO_ROOT, 'node_modules/@whiskeysockets/baileys/package.json'), 'utf8')).dependencies
			.libsignal as string
		expect(manifest.dependencies?.libsignal).toBe(installed('libsignal'))
		expect(Bun.semver.satisfies(installed('libsignal'), baileysLibsignal)).toBe(true)
	})

	it('the Docker image copies nothing of packages/ but manifests, and not the whole context', () => {
		const sources = readFileSync(join(REPO_ROOT, 'Dockerfile'), 'utf8')
			.split('\n')
			.filter((line) => /^COPY\s/i.test(line) && !/\s--from=/.test(line))
			.flatMap((line) =>
				line
					.trim()
					.split(/\s+/)
					.slice(1, -1)
					.filter((arg) => !arg.startsWith('--')),
			)
		expect(sources.length).toBeGreaterThan(0)
		const offenders = sources.filter((source) => {
			const path = source.replace(/^\.\//, '').replace(/\/$/, '')
			return path === '.' || path === '' || (path.split('/')[0] === 'packages' && !path.endsWith('/package.json'))
		})
		expect(offenders).toEqual([])
	})
})
