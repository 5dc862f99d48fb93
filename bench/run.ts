import { mkdirSync, readdirSync, writeFileSync } from 'node:fs'
import { basename, join } from 'node:path'

/**
 * `bun run bench`: runs every `bench/*.bench.ts` (or those named on the command line) and prints
 * one table. A bench file's default export resolves with its results; each figure stands next to
 * a baseline measured in the same run (DESIGN §9), since absolute numbers depend on the machine.
 */
export interface BenchResult {
	name: string
	value: number
	unit: string
	/** The same work done the plainest way, in the same unit, measured in the same run. */
	baseline?: number
	baselineName?: string
}

export type Bench = () => Promise<BenchResult[]>

const format = (n: number) => (n >= 100 ? Math.round(n).toLocaleString('en-US') : n.toFixed(2))

function table(rows: (BenchResult & { file: string })[]): string {
	const cells = rows.map((r) => [
		r.name,
		format(r.value),
		r.unit,
		r.baseline === undefined ? '' : `${format(r.baseline)}${r.baselineName ? ` (${r.baselineName})` : ''}`,
		r.baseline ? `${(r.value / r.baseline).toFixed(2)}×` : '',
	])
	const header = ['name', 'value', 'unit', 'baseline', 'ratio']
	const widths = header.map((h, i) => Math.max(h.length, ...cells.map((c) => c[i]!.length)))
	const line = (c: string[]) => c.map((v, i) => (i === 1 || i === 4 ? v.padStart(widths[i]!) : v.padEnd(widths[i]!))).join('  ')
	return [line(header), widths.map((w) => '-'.repeat(w)).join('  '), ...cells.map(line)].join('\n')
}

if (import.meta.main) {
	const dir = import.meta.dir
	const wanted = process.argv.slice(2)
	const files = readdirSync(dir)
		.filter((f) => f.endsWith('.bench.ts'))
		.filter((f) => !wanted.length || wanted.some((w) => f.includes(w)))
		.sort()
	const results: (BenchResult & { file: string })[] = []
	mkdirSync(join(dir, 'results'), { recursive: true })
	for (const file of files) {
		console.error(`running ${file} …`)
		const mod = (await import(join(dir, file))) as { default: Bench }
		const own = await mod.default()
		for (const r of own) results.push({ ...r, file: basename(file) })
		const out = join(dir, 'results', `${basename(file, '.bench.ts')}.json`)
		writeFileSync(out, `${JSON.stringify({ at: new Date().toISOString(), bun: Bun.version, results: own }, null, '\t')}\n`)
	}
	console.log(table(results))
	// Benches may leave pools or workers a moment behind; the table is what counts.
	process.exit(0)
}
