import { describe, expect, it } from 'bun:test'
import { readdirSync, readFileSync, statSync } from 'node:fs'
import { dirname, join, relative, resolve } from 'node:path'
import { REPO_ROOT } from '../helpers/process'

/**
 * The layout is the architecture: the session domain (`core`) depends on nothing, infrastructure
 * depends on the domain, the adapters (HTTP modules, roles) depend on both, and only the
 * composition root (`index.ts`, `server.ts`, `app.ts`) sees everything. These tests keep it so.
 */

const SRC = join(REPO_ROOT, 'src')
const transpiler = new Bun.Transpiler({ loader: 'ts' })

function sourceFiles(dir: string): string[] {
	return readdirSync(dir).flatMap((name) => {
		const path = join(dir, name)
		return statSync(path).isDirectory() ? sourceFiles(path) : path.endsWith('.ts') ? [path] : []
	})
}

/** The part of the tree a file belongs to: `core`, `db`, `modules`, `app.ts`, … */
const partOf = (file: string) => relative(SRC, file).split('/')[0]!.replace(/\.ts$/, '')

function resolveImport(from: string, specifier: string): string | null {
	if (!specifier.startsWith('.')) return null
	const base = resolve(dirname(from), specifier)
	for (const candidate of [base, `${base}.ts`, join(base, 'index.ts')]) {
		try {
			if (statSync(candidate).isFile()) return candidate
		} catch {}
	}
	throw new Error(`${relative(REPO_ROOT, from)}: cannot resolve ${specifier}`)
}

const files = sourceFiles(SRC)
// Type-only imports count: a type is as much a dependency for a reader as a value.
const graph = new Map(
	files.map((file) => {
		const code = readFileSync(file, 'utf8')
		const imports = transpiler.scanImports(code.replace(/import type /g, 'import ')).flatMap((i) => resolveImport(file, i.path) ?? [])
		return [file, imports]
	}),
)

/** Which parts each part may import (besides itself). */
const ALLOWED: Record<string, readonly string[]> = {
	core: [],
	lib: ['core', 'config', 'logger'],
	config: [],
	logger: ['config'],
	db: ['core', 'lib', 'config', 'logger'],
	redis: ['lib', 'config', 'logger'],
	mail: ['lib', 'config', 'logger'],
	bus: ['core', 'lib', 'config', 'logger', 'db', 'redis'],
	whatsapp: ['core', 'lib', 'config', 'logger', 'db', 'media'],
	media: ['core', 'lib', 'config', 'logger', 'db'],
	observability: ['core', 'lib', 'config', 'logger', 'db', 'bus'],
	plugins: ['core', 'lib', 'config', 'logger', 'db', 'bus', 'observability'],
	modules: ['core', 'lib', 'config', 'logger', 'db', 'bus', 'mail', 'media', 'observability', 'plugins'],
	roles: ['core', 'lib', 'config', 'logger', 'db', 'bus', 'redis', 'whatsapp', 'media', 'observability'],
}
const COMPOSITION_ROOT = new Set(['index', 'server', 'app'])

describe('the architecture', () => {
	it('knows every part of src/', () => {
		const parts = new Set(files.map(partOf))
		for (const part of parts) expect(COMPOSITION_ROOT.has(part) || part in ALLOWED, `src/${part}`).toBe(true)
	})

	it('has no import across parts that the layering forbids', () => {
		const violations: string[] = []
		for (const [file, imports] of graph) {
			const from = partOf(file)
			if (COMPOSITION_ROOT.has(from)) continue
			for (const target of imports) {
				const to = partOf(target)
				if (to !== from && !ALLOWED[from]!.includes(to)) violations.push(`${relative(SRC, file)} → ${relative(SRC, target)}`)
			}
		}
		expect(violations).toEqual([])
	})

	it('has no import cycle', () => {
		const cycles: string[] = []
		const state = new Map<string, 'visiting' | 'done'>()
		const path: string[] = []
		const visit = (file: string) => {
			if (state.get(file) === 'done') return
			if (state.get(file) === 'visiting') {
				cycles.push([...path.slice(path.indexOf(file)), file].map((f) => relative(SRC, f)).join(' → '))
				return
			}
			state.set(file, 'visiting')
			path.push(file)
			for (const next of graph.get(file) ?? []) visit(next)
			path.pop()
			state.set(file, 'done')
		}
		for (const file of files) visit(file)
		expect(cycles).toEqual([])
	})

	it('keeps source files under about 350 lines, or says at the top why not', () => {
		const long = files.filter((file) => {
			const text = readFileSync(file, 'utf8')
			const lines = text.split('\n').length
			return lines > 360 && !/over 350 lines on purpose/i.test(text.split('\n').slice(0, 30).join('\n'))
		})
		expect(long.map((f) => relative(SRC, f))).toEqual([])
	})
})

/**
 * The dashboard (`web/`) is a client of the API like any other: it reaches the server over HTTP
 * only, and sees it in one place, `type App` from src/app.ts, so the type check ties them together
 * without any server code in the bundle.
 */
describe('the dashboard', () => {
	const WEB = join(REPO_ROOT, 'web')
	const webFiles = (dir: string): string[] =>
		readdirSync(dir).flatMap((name) => {
			const path = join(dir, name)
			return statSync(path).isDirectory() ? webFiles(path) : /\.tsx?$/.test(name) && !name.endsWith('.d.ts') ? [path] : []
		})
	const tsx = new Bun.Transpiler({ loader: 'tsx' })
	const files = webFiles(WEB)

	it('has its source under web/', () => {
		expect(files.length).toBeGreaterThan(5)
	})

	it('imports nothing of the server but `type App`, and that as a type only', () => {
		const outside: string[] = []
		for (const file of files) {
			const code = readFileSync(file, 'utf8')
			for (const { path } of tsx.scanImports(code.replace(/import type /g, 'import '))) {
				if (!path.startsWith('.')) continue
				const target = resolve(dirname(file), path)
				if (target.startsWith(`${WEB}/`)) continue
				const typeOnlyApp = relative(REPO_ROOT, target) === 'src/app' && new RegExp(`import type \\{ App \\} from '${path}'`).test(code)
				if (!typeOnlyApp) outside.push(`${relative(REPO_ROOT, file)} → ${path}`)
			}
		}
		expect(outside).toEqual([])
	})

	it('keeps its files under about 350 lines too', () => {
		const long = files.filter((file) => readFileSync(file, 'utf8').split('\n').length > 360)
		expect(long.map((f) => relative(REPO_ROOT, f))).toEqual([])
	})
})
